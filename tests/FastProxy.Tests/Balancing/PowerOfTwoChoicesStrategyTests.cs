using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing.Tests;

public sealed class PowerOfTwoChoicesStrategyTests
{
    private const int Picks = 100_000;

    private static ImmutableArray<EndpointState> Loaded(int[] weights, int[] loads)
    {
        var endpoints = TestEndpoints.Create(weights);
        for (var i = 0; i < loads.Length; i++)
        {
            TestEndpoints.Open(endpoints[i], loads[i]);
        }

        return endpoints;
    }

    private static double[] Shares(ImmutableArray<EndpointState> endpoints, ulong seed)
    {
        var picker = new PowerOfTwoChoicesStrategy(seed).CreatePicker(endpoints);
        var counts = new int[endpoints.Length];
        for (var i = 0; i < Picks; i++)
        {
            counts[endpoints.IndexOf(picker.Pick(TestEndpoints.Flow(i))!)]++;
        }

        return [.. counts.Select(c => c / (double)Picks)];
    }

    [Fact]
    public void Name_IsPowerOfTwoChoices()
    {
        Assert.Equal("power-of-two-choices", new PowerOfTwoChoicesStrategy().Name);
    }

    [Fact]
    public void Pick_EqualLoads_EachNearOneNth()
    {
        // Every comparison ties, so the first candidate wins, and it is uniform: 25% ± 1% (7 standard deviations).
        var shares = Shares(TestEndpoints.Create(4), seed: 11);
        Assert.All(shares, s => Assert.InRange(s, 0.24, 0.26));
    }

    [Fact]
    public void Pick_OneHeavilyLoaded_NeverChosen()
    {
        // The two candidates are distinct, so the loaded endpoint always meets a less loaded one.
        var two = Shares(Loaded([1, 1], [100, 0]), seed: 12);
        Assert.Equal([0.0, 1.0], two);

        var three = Shares(Loaded([1, 1, 1], [0, 100, 0]), seed: 13);
        Assert.Equal(0.0, three[1]);
        Assert.InRange(three[0], 0.49, 0.51);
    }

    [Fact]
    public void Pick_DistinctLoads_ChosenByTheLeastOfAUniformPair()
    {
        // Loads 0 < 1 < 2 < 3: endpoint k wins the pairs with a more loaded partner, (3 - k) of the 6 pairs.
        var shares = Shares(Loaded([1, 1, 1, 1], [0, 1, 2, 3]), seed: 14);
        Assert.InRange(shares[0], 0.49, 0.51);
        Assert.InRange(shares[1], (2 / 6.0) - 0.01, (2 / 6.0) + 0.01);
        Assert.InRange(shares[2], (1 / 6.0) - 0.01, (1 / 6.0) + 0.01);
        Assert.Equal(0.0, shares[3]);
    }

    [Fact]
    public void Pick_WeightedIdleEndpoints_FirstCandidateDrawnByWeight()
    {
        // Weights 3 and 1, no load: every pair is both endpoints, tied at 0, so the first drawn wins: 75%.
        var shares = Shares(TestEndpoints.Create(3, 1), seed: 15);
        Assert.InRange(shares[0], 0.73, 0.77);
    }

    [Fact]
    public void Pick_ComparesLoadRelativeToWeight()
    {
        // 3 connections at weight 4 (0.75) beat 1 at weight 1 (1.0): the first always wins.
        var shares = Shares(Loaded([4, 1], [3, 1]), seed: 16);
        Assert.Equal([1.0, 0.0], shares);
    }

    [Fact]
    public void Pick_RemovedEndpoint_LosesEveryComparison()
    {
        var endpoints = Loaded([1, 1], [0, 9]);
        endpoints[0].MarkRemoved();
        Assert.Equal([0.0, 1.0], Shares(endpoints, seed: 17));
    }

    [Fact]
    public void Pick_OneEndpoint_AlwaysIt()
    {
        var endpoints = Loaded([1], [5]);
        var picker = new PowerOfTwoChoicesStrategy().CreatePicker(endpoints);
        Assert.Same(endpoints[0], picker.Pick(default));
        Assert.Same(endpoints[0], picker.Pick(TestEndpoints.Flow(0, 1)));
    }

    [Theory]
    [InlineData(new[] { 1, 1, 1 }, new[] { 0, 0, 0 })]
    [InlineData(new[] { 1, 1, 1, 1 }, new[] { 0, 1, 2, 3 })]
    [InlineData(new[] { 5, 1 }, new[] { 0, 0 })]
    public void Pick_Retry_NeverRepeatsTheFirstAttempt(int[] weights, int[] loads)
    {
        var endpoints = Loaded(weights, loads);
        var picker = new PowerOfTwoChoicesStrategy(seed: 18).CreatePicker(endpoints);
        for (var i = 0; i < 1000; i++)
        {
            var first = picker.Pick(TestEndpoints.Flow(i));
            Assert.NotSame(first, picker.Pick(TestEndpoints.Flow(i, 1)));
        }
    }

    [Fact]
    public void Pick_Concurrent_OnlyEndpointsOfTheSet()
    {
        var endpoints = Loaded([3, 1, 2, 1], [1, 0, 2, 0]);
        var picker = new PowerOfTwoChoicesStrategy(seed: 19).CreatePicker(endpoints);
        var counts = new int[endpoints.Length];
        Parallel.For(0, 40_000, i =>
        {
            var index = endpoints.IndexOf(picker.Pick(TestEndpoints.Flow(i, i % 2))!);
            Interlocked.Increment(ref counts[index]);
        });
        Assert.Equal(40_000, counts.Sum());
    }

    [Theory]
    [InlineData(new[] { 1, 1, 1, 1 })]
    [InlineData(new[] { 3, 1, 7, 2 })]
    public void Pick_AllocatesNothing(int[] weights)
    {
        var picker = new PowerOfTwoChoicesStrategy(seed: 20).CreatePicker(TestEndpoints.Create(weights));
        Assert.Equal(0, PickerAllocations.Measure(picker));
    }

    [Fact]
    public void CreatePicker_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => new PowerOfTwoChoicesStrategy().CreatePicker([]));
    }
}
