using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Tests;

/// <summary>
/// N real backend pods, a catalog with service <c>default/web</c> selecting them, and a started
/// proxy on real loopback sockets. Everything is torn down on dispose.
/// </summary>
internal sealed class ProxyTestEnvironment : IAsyncDisposable
{
    public const int ServicePort = 18080;
    private readonly List<TestBackend> _backends;

    private ProxyTestEnvironment(ServiceCatalog catalog, ProxyServer proxy, List<TestBackend> backends, string podPrefix, IPAddress virtualIP)
    {
        Catalog = catalog;
        Proxy = proxy;
        _backends = backends;
        PodPrefix = podPrefix;
        VirtualEndPoint = new IPEndPoint(virtualIP, ServicePort);
    }

    public ServiceCatalog Catalog { get; }

    public ProxyServer Proxy { get; }

    public IReadOnlyList<TestBackend> Backends => _backends;

    public string PodPrefix { get; }

    public IPEndPoint VirtualEndPoint { get; }

    public int TargetPort => _backends[0].EndPoint.Port;

    public static async Task<ProxyTestEnvironment> StartAsync(int pods = 3, Action<ProxyServerBuilder>? configure = null)
    {
        var (podPrefix, virtualIP) = TestAddresses.Next();
        var backends = TestBackend.StartMany("web", podPrefix, pods).ToList();
        var catalog = new ServiceCatalog();
        var update = new CatalogUpdate().SetService(new Service
        {
            Name = "web",
            ClusterIP = virtualIP,
            Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "web" }),
            Ports = [new ServicePort { Port = ServicePort, TargetPort = backends[0].EndPoint.Port }],
        });
        foreach (var backend in backends)
        {
            update.SetPod(PodFor(backend));
        }

        catalog.Apply(update);
        var builder = new ProxyServerBuilder(catalog).UseSockets().Configure(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        configure?.Invoke(builder);
        var proxy = builder.Build();
        await proxy.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return new ProxyTestEnvironment(catalog, proxy, backends, podPrefix, virtualIP);
    }

    public static Pod PodFor(TestBackend backend, string app = "web") => new()
    {
        Name = backend.Name,
        Address = backend.EndPoint.Address,
        Labels = new Dictionary<string, string> { ["app"] = app },
    };

    /// <summary>Starts one more backend on the next address of this environment's block.</summary>
    public TestBackend AddBackend()
    {
        var index = _backends.Count + 1;
        var backend = TestBackend.Start($"web-{index}", new IPEndPoint(IPAddress.Parse(PodPrefix + index), TargetPort));
        _backends.Add(backend);
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }
}
