using System.Net;
using System.Net.Sockets;
using FastProxy.Catalog;
using FastProxy.Dns;
using Microsoft.Extensions.Logging;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// Starts the embedded DNS server for <c>run</c> and the demo. An address the user gave must bind (or
/// the command fails); the default one may be taken (another sidecar, the demo, an mDNS responder), and
/// then the sidecar runs without DNS and says so, as the demo does with its dashboard.
/// </summary>
internal static class SidecarDns
{
    /// <summary>The started server; null when DNS is off or the default address was taken (<paramref name="problem"/> then says why).</summary>
    /// <exception cref="SocketException">The address was given explicitly and cannot be bound.</exception>
    public static async Task<ClusterDnsServer?> StartAsync(ServiceCatalog catalog, IPEndPoint? endPoint, bool explicitlyGiven, string clusterDomain, ILoggerFactory loggerFactory, Action<string> problem, CancellationToken cancellationToken)
    {
        if (endPoint is null)
        {
            return null;
        }

        var server = new ClusterDnsServer(catalog, new ClusterDnsOptions { EndPoint = endPoint, ClusterDomain = clusterDomain, LoggerFactory = loggerFactory });
        try
        {
            await server.StartAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch (SocketException ex) when (!explicitlyGiven)
        {
            await server.DisposeAsync().ConfigureAwait(false);
            problem($"DNS not started: {endPoint} is not available ({ex.Message}); give --dns ADDR:PORT for another address, or --dns off.");
            return null;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The line that shows how to ask the server, such as <c>dig @127.0.0.1 -p 5353 web.default.svc.cluster.local</c>.</summary>
    public static string DigCommand(IPEndPoint server, string name)
        => $"dig @{server.Address} -p {server.Port} {name}";
}
