using System.Net;
using BenchmarkDotNet.Attributes;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>
/// The control-plane cost of the <see cref="ServiceCatalog"/> at cluster scale: <see cref="Pods"/> pods
/// and <see cref="Pods"/>/10 services (10 pods each, selector <c>app=svc-i</c>, port 80 to 8080, virtual
/// IP allocated by the catalog), spread evenly over 10 namespaces. Measures one pod change (join and
/// leave, relabel from one service to another, readiness flip), each validated, rebuilt for the touched
/// services and published; and publishing the whole state into a fresh catalog in one batch. Every
/// incremental benchmark undoes its own change within one invocation, so all iterations start from the
/// same catalog. Loopback addresses only; the catalog opens no socket.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class CatalogScaleBenchmarks
{
    private const int Namespaces = 10;
    private const int PodsPerService = 10;

    private ServiceCatalogOptions _options = null!;
    private CatalogUpdate _everything = null!;
    private ServiceCatalog _catalog = null!;
    private Pod _joining = null!;
    private Pod _ready = null!;
    private Pod _notReady = null!;
    private Pod _relabelled = null!;

    /// <summary>Pods in the catalog; services are a tenth of it.</summary>
    [Params(1_000, 10_000, 100_000)]
    public int Pods { get; set; }

    private int Services => Pods / PodsPerService;

    [GlobalSetup]
    public void Setup()
    {
        // A /10 inside 127.0.0.0/8 holds 4M virtual IPs; pods live in 127.1.0.0-127.2.255.255, outside it.
        _options = new ServiceCatalogOptions { ServiceCidr = IPNetwork.Parse("127.64.0.0/10") };
        _everything = new CatalogUpdate();
        for (var s = 0; s < Services; s++)
        {
            _everything.SetService(new Service
            {
                Namespace = NamespaceOf(s),
                Name = $"svc-{s}",
                Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = $"svc-{s}" }),
                Ports = [new ServicePort { Port = 80, TargetPort = 8080 }],
            });
        }

        for (var p = 0; p < Pods; p++)
        {
            _everything.SetPod(Pod(p, p / PodsPerService));
        }

        _catalog = new ServiceCatalog(_options);
        _catalog.Apply(_everything);
        if (_catalog.Current.Services.Count != Services)
        {
            throw new InvalidOperationException($"Expected {Services} services, got {_catalog.Current.Services.Count}.");
        }

        // A service in the middle, a second one in the same namespace for the relabel, and a fresh pod address.
        var service = Services / 2;
        _ready = Pod(service * PodsPerService, service);
        _notReady = _ready with { Ready = false };
        _relabelled = _ready with { Labels = new Dictionary<string, string> { ["app"] = $"svc-{service + Namespaces}" } };
        _joining = Pod(Pods, service);
    }

    /// <summary>A new ready pod joins an existing service, then leaves it: two published versions.</summary>
    [Benchmark(OperationsPerInvoke = 2)]
    public long PodAddThenRemove()
    {
        _catalog.SetPod(_joining);
        return _catalog.RemovePod(_joining.Id).Version;
    }

    /// <summary>A pod's labels move it from one service to another in its namespace, then back: two versions, two services rebuilt each.</summary>
    [Benchmark(OperationsPerInvoke = 2)]
    public long PodRelabel()
    {
        _catalog.SetPod(_relabelled);
        return _catalog.SetPod(_ready).Version;
    }

    /// <summary>A pod turns not ready, then ready again: two versions.</summary>
    [Benchmark(OperationsPerInvoke = 2)]
    public long PodReadinessFlip()
    {
        _catalog.SetPod(_notReady);
        return _catalog.SetPod(_ready).Version;
    }

    /// <summary>Every service and pod published into a fresh catalog in one batch (the batch itself is built once, in setup).</summary>
    [Benchmark]
    public long PublishWholeSnapshot()
    {
        var catalog = new ServiceCatalog(_options);
        return catalog.Apply(_everything).Version;
    }

    private static string NamespaceOf(int service) => $"ns-{service % Namespaces}";

    // Pod j: 127.(1 + j / 65536).(j / 256 % 256).(j % 256), unique up to 131,071 pods.
    private static Pod Pod(int index, int service) => new()
    {
        Namespace = NamespaceOf(service),
        Name = $"pod-{index}",
        Address = new IPAddress([127, (byte)(1 + (index >> 16)), (byte)(index >> 8), (byte)index]),
        Labels = new Dictionary<string, string> { ["app"] = $"svc-{service}" },
    };
}
