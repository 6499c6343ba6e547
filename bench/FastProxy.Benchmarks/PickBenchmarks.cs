using BenchmarkDotNet.Attributes;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>The cost of one pick on the accept path, per strategy and endpoint count. Target: 0 B allocated, tens of ns.</summary>
public class PickBenchmarks
{
    private IEndpointPicker _picker = null!;
    private PickContext[] _flows = null!;
    private int _next;

    [ParamsSource(nameof(Strategies))]
    public string Strategy { get; set; } = "";

    [Params(2, 16, 256, 4096)]
    public int Endpoints { get; set; }

    public static IEnumerable<string> Strategies => BenchmarkEndpoints.StrategyNames;

    [GlobalSetup]
    public void Setup()
    {
        _picker = BenchmarkEndpoints.Strategy(Strategy).CreatePicker(BenchmarkEndpoints.Create(Endpoints));
        _flows = BenchmarkEndpoints.Flows();
    }

    [Benchmark]
    public EndpointState? Pick() => _picker.Pick(_flows[_next++ & 1023]);
}
