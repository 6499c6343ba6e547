using BenchmarkDotNet.Attributes;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>
/// What the forwarder pays per connection for load accounting: pick, count the connect, count the
/// close. Least-connections above 64 endpoints also refreshes its tree of loads on both counts.
/// </summary>
public class ConnectionAccountingBenchmarks
{
    private IEndpointPicker _picker = null!;

    [Params(BalancingStrategies.RoundRobin, BalancingStrategies.LeastConnections)]
    public string Strategy { get; set; } = "";

    [Params(16, 256, 4096)]
    public int Endpoints { get; set; }

    [GlobalSetup]
    public void Setup() => _picker = BenchmarkEndpoints.Strategy(Strategy).CreatePicker(BenchmarkEndpoints.Create(Endpoints));

    [Benchmark]
    public void PickOpenClose()
    {
        var endpoint = _picker.Pick(default)!;
        endpoint.OnConnecting();
        endpoint.OnConnectionClosed();
    }
}
