using System.Net;
using FastProxy.Catalog;

namespace FastProxy.Dns.Tests;

/// <summary>
/// A catalog and a <see cref="ClusterDnsServer"/> over it on a loopback address of its own in
/// 127.53.0.0/16 (no other test uses that range), on a free port.
/// </summary>
internal sealed class DnsTestServer : IAsyncDisposable
{
    private static int _next;

    private DnsTestServer(ServiceCatalog catalog, ClusterDnsServer server)
    {
        Catalog = catalog;
        Server = server;
    }

    public ServiceCatalog Catalog { get; }

    public ClusterDnsServer Server { get; }

    public IPEndPoint EndPoint => Server.LocalEndPoint!;

    /// <summary>The next unused address of 127.53.0.0/16.</summary>
    public static IPAddress NextAddress()
    {
        var n = Interlocked.Increment(ref _next);
        return IPAddress.Parse($"127.53.{n / 250}.{(n % 250) + 1}");
    }

    public static async Task<DnsTestServer> StartAsync(ServiceCatalog? catalog = null, Action<ClusterDnsOptions>? configure = null)
    {
        catalog ??= new ServiceCatalog();
        var options = new ClusterDnsOptions { EndPoint = new IPEndPoint(NextAddress(), 0) };
        configure?.Invoke(options);
        var server = new ClusterDnsServer(catalog, options);
        await server.StartAsync();
        return new DnsTestServer(catalog, server);
    }

    public Task<DigResult> DigAsync(params string[] arguments) => Dig.QueryAsync(EndPoint, arguments);

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
