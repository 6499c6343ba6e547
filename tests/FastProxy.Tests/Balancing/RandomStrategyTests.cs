using FastProxy.Model;

namespace FastProxy.Balancing.Tests;

public sealed class RandomStrategyTests
{
    [Fact]
    public void Name_IsRandom()
    {
        Assert.Equal("random", new RandomStrategy().Name);
    }

    [Fact]
    public void Pick_Weights31_GivesThreeQuarters()
    {
        var endpoints = TestEndpoints.Create(3, 1);
        var picker = new RandomStrategy(seed: 1).CreatePicker(endpoints);
        const int picks = 100_000;
        var first = 0;
        for (var i = 0; i < picks; i++)
        {
            first += picker.Pick(TestEndpoints.Flow(i)) == endpoints[0] ? 1 : 0;
        }

        // 75% ± 2%: the standard deviation of the share is about 0.14%, so this is 14 of them.
        Assert.InRange(first / (double)picks, 0.73, 0.77);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(0xDEADBEEFUL)]
    public void Pick_EqualWeights_Uniform(ulong seed)
    {
        var endpoints = TestEndpoints.Create(5);
        var picker = new RandomStrategy(seed).CreatePicker(endpoints);
        var counts = new int[5];
        for (var i = 0; i < 100_000; i++)
        {
            counts[endpoints.IndexOf(picker.Pick(default)!)]++;
        }

        // 20% ± 1% each (the standard deviation is about 0.13%).
        Assert.All(counts, c => Assert.InRange(c, 19_000, 21_000));
    }

    [Fact]
    public void Pick_UnequalWeights_EveryEndpointByItsShare()
    {
        int[] weights = [1, 10, 100, 7, 1000, 1];
        var endpoints = TestEndpoints.Create(weights);
        var picker = new RandomStrategy(seed: 42).CreatePicker(endpoints);
        const int picks = 1_000_000;
        var counts = new int[weights.Length];
        for (var i = 0; i < picks; i++)
        {
            counts[endpoints.IndexOf(picker.Pick(default)!)]++;
        }

        // Within 5 standard deviations of each binomial expectation.
        double total = weights.Sum();
        for (var i = 0; i < weights.Length; i++)
        {
            var p = weights[i] / total;
            var sigma = Math.Sqrt(picks * p * (1 - p));
            Assert.InRange(counts[i], (picks * p) - (5 * sigma), (picks * p) + (5 * sigma));
        }
    }

    [Fact]
    public void Pick_SameSeed_SameSequence_OtherSeed_Differs()
    {
        var endpoints = TestEndpoints.Create(4, 1, 2, 3);
        int[] Sequence(ulong seed)
        {
            var picker = new RandomStrategy(seed).CreatePicker(endpoints);
            return [.. Enumerable.Range(0, 64).Select(_ => endpoints.IndexOf(picker.Pick(default)!))];
        }

        Assert.Equal(Sequence(7), Sequence(7));
        Assert.NotEqual(Sequence(7), Sequence(8));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 1, 1)]
    [InlineData(1, 1)]
    public void Pick_Retry_NeverRepeatsTheFirstAttempt(params int[] weights)
    {
        var endpoints = TestEndpoints.Create(weights);
        var picker = new RandomStrategy(seed: 3).CreatePicker(endpoints);
        for (var i = 0; i < 1000; i++)
        {
            var first = picker.Pick(TestEndpoints.Flow(i));
            Assert.NotSame(first, picker.Pick(TestEndpoints.Flow(i, 1)));
        }
    }

    [Fact]
    public void Pick_OneEndpoint_AlwaysIt()
    {
        var endpoints = TestEndpoints.Create(1);
        var picker = new RandomStrategy().CreatePicker(endpoints);
        Assert.Same(endpoints[0], picker.Pick(default));
        Assert.Same(endpoints[0], picker.Pick(TestEndpoints.Flow(0, 1)));
    }

    [Fact]
    public void Pick_Concurrent_OnlyEndpointsOfTheSet()
    {
        var endpoints = TestEndpoints.Create(3, 1, 2);
        var picker = new RandomStrategy(seed: 9).CreatePicker(endpoints);
        var counts = new int[endpoints.Length];
        Parallel.For(0, 60_000, i =>
        {
            var index = endpoints.IndexOf(picker.Pick(TestEndpoints.Flow(i, i % 2))!);
            Interlocked.Increment(ref counts[index]);
        });
        Assert.Equal(60_000, counts.Sum());
        Assert.All(counts, c => Assert.True(c > 5_000));
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(3, 1, 7, 2)]
    public void Pick_AllocatesNothing(params int[] weights)
    {
        var picker = new RandomStrategy(seed: 5).CreatePicker(TestEndpoints.Create(weights));
        Assert.Equal(0, PickerAllocations.Measure(picker));
    }

    [Fact]
    public void CreatePicker_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RandomStrategy().CreatePicker([]));
    }
}
