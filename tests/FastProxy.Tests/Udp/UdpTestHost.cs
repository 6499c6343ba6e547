using System.Net;
using FastProxy.Catalog;
using FastProxy.Forwarding.Udp;
using FastProxy.Model;
using FastProxy.Services.Tests;

namespace FastProxy.Udp.Tests;

/// <summary>
/// A UDP service on real loopback sockets: the test's own address block from <see cref="ServiceTestHost"/>
/// (pods at 127.a.b.1-99, clients at 127.a.b.100-199, node address .200, load balancer .210), UDP echo
/// pods, and a proxy.
/// </summary>
internal sealed class UdpTestHost : IAsyncDisposable
{
    public const int ServicePort = 5353;
    public static readonly NamespacedName EchoId = new("default", "echo");

    private readonly List<UdpEchoBackend> _backends = [];
    private readonly List<UdpTestClient> _clients = [];
    private int _nextClient = 100;

    private UdpTestHost(ServiceTestHost host)
    {
        Host = host;
    }

    public ServiceTestHost Host { get; }

    public ServiceCatalog Catalog => Host.Catalog;

    public IPEndPoint VirtualEndPoint => new(Host.VirtualIP, ServicePort);

    public IReadOnlyList<UdpEchoBackend> Backends => _backends;

    /// <summary>The service's session table (after the proxy started).</summary>
    public UdpSessionTable Table => Host.Proxy.Udp.TableOf(EchoId) ?? throw new InvalidOperationException("The service has no UDP session table.");

    public static UdpTestHost Create(Action<ServiceCatalogOptions>? configure = null) => new(ServiceTestHost.Create(configure));

    /// <summary>Starts echo pods pod-1..pod-n at 127.a.b.1..n, all on one port.</summary>
    public UdpEchoBackend[] StartBackends(int count)
    {
        var first = UdpEchoBackend.Start("pod-1", new IPEndPoint(Host.At(1), 0));
        _backends.Add(first);
        for (var i = 2; i <= count; i++)
        {
            _backends.Add(UdpEchoBackend.Start($"pod-{i}", new IPEndPoint(Host.At(i), first.EndPoint.Port)));
        }

        return [.. _backends];
    }

    /// <summary>UDP service default/echo on the test's virtual IP, port <see cref="ServicePort"/> to the pods' port, selecting app=echo.</summary>
    public Service EchoService() => new()
    {
        Name = EchoId.Name,
        ClusterIP = Host.VirtualIP,
        Selector = ServiceTestHost.AppSelector("echo"),
        Ports = [new ServicePort { Port = ServicePort, TargetPort = _backends[0].EndPoint.Port, Protocol = ServiceProtocol.Udp }],
    };

    public static Pod PodOf(UdpEchoBackend backend) => new()
    {
        Name = backend.Name,
        Address = backend.EndPoint.Address,
        Labels = new Dictionary<string, string> { ["app"] = "echo" },
    };

    /// <summary>Applies the service and one pod per backend, then starts the proxy.</summary>
    public async Task StartAsync(Service service)
    {
        var update = new CatalogUpdate().SetService(service);
        foreach (var backend in _backends)
        {
            update.SetPod(PodOf(backend));
        }

        Catalog.Apply(update);
        await Host.StartProxyAsync();
    }

    /// <summary>A client on the next free client address of the block (127.a.b.100 and up).</summary>
    public UdpTestClient NewClient(IPAddress? source = null)
    {
        var client = new UdpTestClient(source ?? Host.At(_nextClient++));
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        await Host.DisposeAsync();
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }
}
