using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing.Tests;

public sealed class WeightedRoundRobinStrategyTests
{
    private static int[] Indices(ImmutableArray<EndpointState> endpoints, IEndpointPicker picker, int count, int attempt = 0)
        => [.. Enumerable.Range(0, count).Select(i => endpoints.IndexOf(picker.Pick(TestEndpoints.Flow(i, attempt))!))];

    [Fact]
    public void Name_IsWeightedRoundRobin()
    {
        Assert.Equal("weighted-round-robin", new WeightedRoundRobinStrategy().Name);
    }

    [Fact]
    public void Pick_Weights511_FollowsNginxSequenceAndRepeats()
    {
        // nginx's documented smooth sequence for weights a=5, b=1, c=1: a a b a c a a.
        var endpoints = TestEndpoints.Create(5, 1, 1);
        var picker = new WeightedRoundRobinStrategy().CreatePicker(endpoints);
        Assert.Equal([0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 1], Indices(endpoints, picker, 17));
    }

    [Fact]
    public void Pick_EqualWeights_Alternate()
    {
        var endpoints = TestEndpoints.Create(2, 2);
        var picker = new WeightedRoundRobinStrategy().CreatePicker(endpoints);
        Assert.Equal([0, 1, 0, 1, 0, 1], Indices(endpoints, picker, 6));
    }

    [Fact]
    public void Pick_CommonDivisor_IsReducedToTheShortPeriod()
    {
        // 30, 10, 10 reduce to 3, 1, 1: nginx's steps give a b a c a, then it repeats after 5 picks, not 50.
        var endpoints = TestEndpoints.Create(30, 10, 10);
        var picker = new WeightedRoundRobinStrategy().CreatePicker(endpoints);
        Assert.Equal([0, 1, 0, 2, 0, 0, 1, 0, 2, 0], Indices(endpoints, picker, 10));
    }

    [Fact]
    public void Schedule_MatchesNginxStepsRunOverEveryEndpoint()
    {
        // The build runs nginx's steps over weight classes; the plain per-endpoint algorithm must agree.
        int[][] cases = [[5, 1, 1], [3, 3, 1, 2, 2, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [4, 1, 4, 1, 4, 9], [10000, 1]];
        foreach (var weights in cases)
        {
            Assert.Equal(NginxReference(weights), WeightedRoundRobinStrategy.Schedule(weights));
        }
    }

    [Fact]
    public void Pick_LargeWeights_ScaledDown_KeepProportionsWithin1Percent()
    {
        int[] weights = [10000, 9973, 7919, 9001, 8999, 7001, 6007, 4999, 3001, 10000, 9787, 1];
        Assert.True(weights.Sum() > WeightedRoundRobinStrategy.MaxPeriod);
        var endpoints = TestEndpoints.Create(weights);

        var reduced = WeightedRoundRobinStrategy.Weights(endpoints.AsSpan());
        Assert.InRange(reduced.Sum(), weights.Length, WeightedRoundRobinStrategy.MaxPeriod);
        Assert.Equal(1, reduced[^1]);

        var picker = new WeightedRoundRobinStrategy().CreatePicker(endpoints);
        const int picks = 1_000_000;
        var counts = new int[weights.Length];
        for (var i = 0; i < picks; i++)
        {
            counts[endpoints.IndexOf(picker.Pick(default)!)]++;
        }

        double total = weights.Sum();
        for (var i = 0; i < weights.Length - 1; i++)
        {
            var expected = weights[i] / total;
            Assert.InRange(counts[i] / (double)picks, expected * 0.99, expected * 1.01);
        }

        // The weight-1 endpoint keeps its one slot per period.
        Assert.InRange(counts[^1], picks / WeightedRoundRobinStrategy.MaxPeriod, (picks / reduced.Sum()) + 1);
    }

    [Fact]
    public void Pick_Concurrent_ExactCountsOverWholePeriods()
    {
        var endpoints = TestEndpoints.Create(5, 1, 1, 3);
        var picker = new WeightedRoundRobinStrategy().CreatePicker(endpoints);
        const int periods = 10_000;
        var counts = new int[endpoints.Length];
        Parallel.For(0, periods * 10, i =>
        {
            var endpoint = picker.Pick(TestEndpoints.Flow(i))!;
            Interlocked.Increment(ref counts[endpoints.IndexOf(endpoint)]);
        });
        Assert.Equal([5 * periods, periods, periods, 3 * periods], counts);
    }

    [Fact]
    public void Pick_Retry_SkipsTheEndpointOfTheSlotBefore()
    {
        var endpoints = TestEndpoints.Create(5, 1, 1);
        var picker = new WeightedRoundRobinStrategy().CreatePicker(endpoints);
        for (var i = 0; i < 100; i++)
        {
            var first = picker.Pick(TestEndpoints.Flow(i));
            var retry = picker.Pick(TestEndpoints.Flow(i, 1));
            Assert.NotSame(first, retry);
        }
    }

    [Fact]
    public void Pick_Retry_TakesTheNextDifferentEndpointInTheSchedule()
    {
        // Slots a a b a c a a, each first attempt followed by a retry: slot 1 repeats slot 0's a, so
        // that retry goes to the next different endpoint, b (slot 2's); slot 3 (a) and slot 5 (a)
        // already differ from the slot before and are kept; slot 0 of the next period repeats slot 6.
        var endpoints = TestEndpoints.Create(5, 1, 1);
        var picker = new WeightedRoundRobinStrategy().CreatePicker(endpoints);
        var picked = Enumerable.Range(0, 8).Select(i => endpoints.IndexOf(picker.Pick(TestEndpoints.Flow(i / 2, i % 2))!));
        Assert.Equal([0, 1, 1, 0, 2, 0, 0, 1], picked);
    }

    [Fact]
    public void Pick_OneEndpoint_AlwaysIt()
    {
        var endpoints = TestEndpoints.Create([7]);
        var picker = new WeightedRoundRobinStrategy().CreatePicker(endpoints);
        Assert.All(Indices(endpoints, picker, 5), i => Assert.Equal(0, i));
        Assert.All(Indices(endpoints, picker, 5, attempt: 1), i => Assert.Equal(0, i));
    }

    [Fact]
    public void Pick_AllocatesNothing()
    {
        var picker = new WeightedRoundRobinStrategy().CreatePicker(TestEndpoints.Create(5, 1, 1, 3, 2, 8));
        Assert.Equal(0, PickerAllocations.Measure(picker));
    }

    [Fact]
    public void CreatePicker_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => new WeightedRoundRobinStrategy().CreatePicker([]));
    }

    /// <summary>nginx's ngx_http_upstream_get_peer loop, one endpoint at a time, for one period.</summary>
    private static int[] NginxReference(int[] weights)
    {
        var total = weights.Sum();
        var current = new int[weights.Length];
        var schedule = new int[total];
        for (var step = 0; step < total; step++)
        {
            var best = -1;
            for (var i = 0; i < weights.Length; i++)
            {
                current[i] += weights[i];
                if (best < 0 || current[i] > current[best])
                {
                    best = i;
                }
            }

            current[best] -= total;
            schedule[step] = best;
        }

        return schedule;
    }
}
