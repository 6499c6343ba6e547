using System.Collections.Immutable;
using System.Net;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>Endpoint sets and client flows for the balancing benchmarks (loopback addresses only).</summary>
internal static class BenchmarkEndpoints
{
    /// <summary>Every built-in strategy, by the name services use.</summary>
    public static IEnumerable<string> StrategyNames =>
    [
        BalancingStrategies.RoundRobin, BalancingStrategies.WeightedRoundRobin, BalancingStrategies.Random,
        BalancingStrategies.LeastConnections, BalancingStrategies.PowerOfTwoChoices, BalancingStrategies.Maglev,
        BalancingStrategies.RingHash, BalancingStrategies.SourceIpHash, BalancingStrategies.BoundedLoad,
    ];

    private static readonly BalancingStrategyRegistry Registry = new([]);

    public static IBalancingStrategy Strategy(string name)
        => Registry.TryGet(name, out var strategy) ? strategy : throw new ArgumentException($"No strategy {name}", nameof(name));

    /// <summary><paramref name="count"/> endpoints 127.1.x.y:8080 with weights 1-4, as pods of one service port.</summary>
    public static ImmutableArray<EndpointState> Create(int count)
    {
        var load = new ServicePortLoad();
        return [.. Enumerable.Range(0, count).Select(i => new EndpointState(
            new("default", "web"), "", new IPEndPoint(new IPAddress([127, 1, (byte)(i >> 8), (byte)i]), 8080), new("default", $"web-{i}"), 1 + (i % 4), load))];
    }

    /// <summary>Pick contexts for 1,024 distinct client flows, so hashing pickers touch their tables as real traffic would.</summary>
    public static PickContext[] Flows() =>
        [.. Enumerable.Range(0, 1024).Select(i => PickContext.ForClient(new IPEndPoint(new IPAddress([127, 200, (byte)(i >> 8), (byte)i]), 40000 + i)))];
}
