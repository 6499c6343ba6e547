using System.Collections.Immutable;
using BenchmarkDotNet.Attributes;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>The cost of building a picker when a service's endpoint set changes (off the hot path, under the catalog's lock).</summary>
public class PickerBuildBenchmarks
{
    private IBalancingStrategy _strategy = null!;
    private ImmutableArray<EndpointState> _endpoints;

    [ParamsSource(nameof(Strategies))]
    public string Strategy { get; set; } = "";

    [Params(1000)]
    public int Endpoints { get; set; }

    public static IEnumerable<string> Strategies => BenchmarkEndpoints.StrategyNames;

    [GlobalSetup]
    public void Setup()
    {
        _strategy = BenchmarkEndpoints.Strategy(Strategy);
        _endpoints = BenchmarkEndpoints.Create(Endpoints);
    }

    [Benchmark]
    public IEndpointPicker Build() => _strategy.CreatePicker(_endpoints);
}
