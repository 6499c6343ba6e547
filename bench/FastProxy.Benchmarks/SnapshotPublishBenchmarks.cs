using System.Net;
using BenchmarkDotNet.Attributes;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>
/// The control-plane cost of one change: a pod flips readiness in a catalog of <see cref="Services"/>
/// services with 10 pods each, and a new snapshot is validated, rebuilt for the touched service and
/// published by one reference swap.
/// </summary>
public class SnapshotPublishBenchmarks
{
    private ServiceCatalog _catalog = null!;
    private Pod _ready = null!;
    private Pod _notReady = null!;
    private bool _flip;

    [Params(10, 1000)]
    public int Services { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _catalog = new ServiceCatalog();
        var update = new CatalogUpdate();
        for (var s = 0; s < Services; s++)
        {
            update.SetService(new Service
            {
                Name = $"svc-{s}",
                Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = $"app-{s}" }),
                Ports = [new ServicePort { Port = 80, TargetPort = 8080 }],
            });
            for (var p = 0; p < 10; p++)
            {
                update.SetPod(Pod(s, p, ready: true));
            }
        }

        _catalog.Apply(update);
        _ready = Pod(Services / 2, 0, ready: true);
        _notReady = _ready with { Ready = false };
    }

    [Benchmark]
    public long PodReadinessFlip()
    {
        _flip = !_flip;
        return _catalog.SetPod(_flip ? _notReady : _ready).Version;
    }

    [Benchmark]
    public long ReadCurrentSnapshot() => _catalog.Current.Version;

    private static Pod Pod(int service, int index, bool ready) => new()
    {
        Name = $"pod-{service}-{index}",
        Address = new IPAddress([127, 2, (byte)(service >> 8), (byte)(service * 10 + index)]),
        Labels = new Dictionary<string, string> { ["app"] = $"app-{service}" },
        Ready = ready,
    };
}
