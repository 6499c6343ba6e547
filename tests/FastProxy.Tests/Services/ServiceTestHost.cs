using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Services.Tests;

/// <summary>
/// One test's Kubernetes-style world on real loopback sockets: a catalog whose node address is the
/// test's own, backend pods, and proxies started on it. Every address comes from the test's block of
/// <see cref="TestAddresses"/> (127.a.b.x), so tests running in parallel never share an address:
/// pods 1-99, node addresses 200-209, load-balancer addresses 210-219, external IPs 220-223, clients
/// inside the admitted source range 224-239 (127.a.b.224/28), clients outside it 240-254.
/// </summary>
internal sealed class ServiceTestHost : IAsyncDisposable
{
    public const int ServicePort = 8080;
    public const string NodeName = "node-a";
    public const string Zone = "zone-a";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    public static readonly NamespacedName WebId = new("default", "web");

    private readonly List<TestBackend> _backends = [];
    private readonly List<ProxyServer> _proxies = [];
    private readonly Dictionary<ServiceCatalog, ProxyServer> _proxyByCatalog = [];

    private ServiceTestHost(string prefix, IPAddress virtualIP, Action<ServiceCatalogOptions>? configure)
    {
        Prefix = prefix;
        VirtualIP = virtualIP;
        Catalog = NewCatalog(NodeAddress, configure);
    }

    /// <summary>The test's block, <c>127.a.b.</c>.</summary>
    public string Prefix { get; }

    /// <summary>The virtual IP of the test's main service.</summary>
    public IPAddress VirtualIP { get; }

    public IPEndPoint VirtualEndPoint => new(VirtualIP, ServicePort);

    public IPAddress NodeAddress => At(200);

    public IPAddress LoadBalancerIP => At(210);

    /// <summary>The range of admitted clients: 127.a.b.224-239.</summary>
    public IPNetwork AdmittedRange => new(At(224), 28);

    /// <summary>A client address inside <see cref="AdmittedRange"/>.</summary>
    public IPAddress InsideClient => At(230);

    /// <summary>A client address outside <see cref="AdmittedRange"/>.</summary>
    public IPAddress OutsideClient => At(250);

    public ServiceCatalog Catalog { get; }

    public ProxyServer Proxy => _proxyByCatalog[Catalog];

    public IReadOnlyList<TestBackend> Backends => _backends;

    public static ServiceTestHost Create(Action<ServiceCatalogOptions>? configure = null)
    {
        var (prefix, virtualIP) = TestAddresses.Next();
        return new ServiceTestHost(prefix, virtualIP, configure);
    }

    /// <summary>A catalog with node name <see cref="NodeName"/> and zone <see cref="Zone"/>, listening for node ports on this test's node address.</summary>
    public static Action<ServiceCatalogOptions> OnNodeA => static o =>
    {
        o.NodeName = NodeName;
        o.Zone = Zone;
    };

    public IPAddress At(int host) => IPAddress.Parse(Prefix + host);

    /// <summary>A catalog whose node ports listen on <paramref name="nodeAddress"/> only.</summary>
    public static ServiceCatalog NewCatalog(IPAddress nodeAddress, Action<ServiceCatalogOptions>? configure = null)
    {
        var options = new ServiceCatalogOptions();
        options.NodeAddresses.Clear();
        options.NodeAddresses.Add(nodeAddress);
        configure?.Invoke(options);
        return new ServiceCatalog(options);
    }

    /// <summary>Starts a backend named <paramref name="name"/> at 127.a.b.<paramref name="host"/>:<paramref name="port"/> (0: any free port).</summary>
    public TestBackend StartBackend(string name, int host, int port = 0)
    {
        var backend = TestBackend.Start(name, new IPEndPoint(At(host), port));
        _backends.Add(backend);
        return backend;
    }

    /// <summary>Starts backends pod-1..pod-n on hosts 1..n, all on one port.</summary>
    public TestBackend[] StartBackends(int count, string namePrefix = "pod")
    {
        var first = StartBackend($"{namePrefix}-1", 1);
        return [first, .. Enumerable.Range(2, count - 1).Select(i => StartBackend($"{namePrefix}-{i}", i, first.EndPoint.Port))];
    }

    public static Pod PodOf(TestBackend backend, string app = "web") => new()
    {
        Name = backend.Name,
        Address = backend.EndPoint.Address,
        Labels = new Dictionary<string, string> { ["app"] = app },
    };

    public static LabelSelector AppSelector(string app = "web") => new(new Dictionary<string, string> { ["app"] = app });

    /// <summary>Service default/web on the test's virtual IP, port <see cref="ServicePort"/> to <paramref name="targetPort"/>, selecting app=web.</summary>
    public Service WebService(int targetPort) => new()
    {
        Name = "web",
        ClusterIP = VirtualIP,
        Selector = AppSelector(),
        Ports = [new ServicePort { Port = ServicePort, TargetPort = targetPort }],
    };

    /// <summary>Applies the service and one pod per backend, starts the proxy and waits until it listens.</summary>
    public async Task StartAsync(Service service, IEnumerable<TestBackend> pods)
    {
        var update = new CatalogUpdate().SetService(service);
        foreach (var backend in pods)
        {
            update.SetPod(PodOf(backend));
        }

        Catalog.Apply(update);
        await StartProxyAsync();
    }

    public async Task<ProxyServer> StartProxyAsync(ServiceCatalog? catalog = null)
    {
        catalog ??= Catalog;
        var proxy = new ProxyServerBuilder(catalog).UseSockets().Configure(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2)).Build();
        _proxies.Add(proxy);
        _proxyByCatalog[catalog] = proxy;
        await proxy.StartAsync().WaitAsync(Timeout);
        return proxy;
    }

    /// <summary>Applies an update and waits until the proxy's listeners reflect it.</summary>
    public async Task<CatalogSnapshot> ApplyAsync(CatalogUpdate update)
    {
        var snapshot = Catalog.Apply(update);
        if (_proxyByCatalog.TryGetValue(Catalog, out var proxy))
        {
            await proxy.WhenAppliedAsync(snapshot.Version).WaitAsync(Timeout);
        }

        return snapshot;
    }

    public Task<CatalogSnapshot> SetServiceAsync(Service service) => ApplyAsync(new CatalogUpdate().SetService(service));

    public Task<CatalogSnapshot> SetPodAsync(Pod pod) => ApplyAsync(new CatalogUpdate().SetPod(pod));

    public ServiceSnapshot Snapshot(NamespacedName? id = null) => Catalog.Current.Services[id ?? WebId];

    /// <summary>Opens <paramref name="count"/> connections one after the other and returns which backend served each.</summary>
    public static async Task<List<string>> ServedAsync(IPEndPoint endPoint, int count = 12, IPAddress? source = null)
    {
        var served = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            served.Add(await TestClient.WhoServesAsync(endPoint, source));
        }

        return served;
    }

    /// <summary>The set of backends <paramref name="count"/> connections reached; with round robin, enough connections reach every endpoint.</summary>
    public static async Task<ImmutableSortedSet<string>> ReachedAsync(IPEndPoint endPoint, int count = 12, IPAddress? source = null)
        => [.. await ServedAsync(endPoint, count, source)];

    /// <summary>
    /// What one connection got: the name of the backend that greeted it, or <see cref="Refused"/> (nothing
    /// listens), <see cref="Reset"/> (accepted, then reset before any byte) or <see cref="Closed"/> (accepted,
    /// then closed before any byte).
    /// </summary>
    public static async Task<string> OutcomeAsync(IPEndPoint endPoint, IPAddress? source = null)
    {
        try
        {
            await using var client = await TestClient.ConnectAsync(endPoint, source);
            var line = await client.ReadLineAsync();
            return line.Length == 0 ? Closed : line;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return Refused;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return Reset;
        }
    }

    public const string Refused = "<refused>";
    public const string Reset = "<reset>";
    public const string Closed = "<closed>";

    /// <summary>Asserts that a connection is accepted and then ended before any byte reached the client, and no backend saw it.</summary>
    public async Task AssertDroppedAsync(IPEndPoint endPoint, IPAddress? source = null)
    {
        var before = _backends.Sum(static b => b.Accepted);
        for (var i = 0; i < 3; i++)
        {
            var outcome = await OutcomeAsync(endPoint, source);
            Assert.True(outcome is Reset or Closed, $"Expected the connection to {endPoint} from {source?.ToString() ?? "any"} to be reset or closed before any byte, got {outcome}.");
        }

        Assert.Equal(before, _backends.Sum(static b => b.Accepted));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in _proxies)
        {
            await proxy.DisposeAsync();
        }

        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }
}
