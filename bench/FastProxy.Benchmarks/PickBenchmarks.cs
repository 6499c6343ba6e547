using System.Collections.Immutable;
using System.Net;
using BenchmarkDotNet.Attributes;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>The cost of one pick on the accept path, per strategy and endpoint count. Target: 0 B allocated.</summary>
public class PickBenchmarks
{
    private IEndpointPicker _roundRobin = null!;

    [Params(2, 16, 256, 4096)]
    public int Endpoints { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var endpoints = ImmutableArray.CreateRange(Enumerable.Range(0, Endpoints).Select(i =>
            new EndpointState(new("default", "web"), "", new IPEndPoint(new IPAddress([127, 1, (byte)(i >> 8), (byte)i]), 8080), new("default", $"web-{i}"))));
        _roundRobin = new RoundRobinStrategy().CreatePicker(endpoints);
    }

    [Benchmark(Baseline = true)]
    public EndpointState? RoundRobin() => _roundRobin.Pick(new PickContext(0x9E3779B97F4A7C15UL, 0x2545F4914F6CDD1DUL, 0));
}
