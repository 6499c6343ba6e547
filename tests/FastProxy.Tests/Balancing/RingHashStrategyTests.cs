using FastProxy.Model;
using Xunit.Abstractions;

namespace FastProxy.Balancing.Tests;

public sealed class RingHashStrategyTests(ITestOutputHelper output)
{
    [Fact]
    public void Pick_TenEqualEndpoints_BalancedWithinFifteenPercent()
    {
        // 200 nodes per endpoint (two multiples of 100 reach the 1024 minimum): a share's standard deviation is then
        // about 1/√200 ≈ 7%, so the worst of ten is expected near 1.5σ ≈ 11%; 15% is the brief's bound.
        var endpoints = TestEndpoints.Create(10);
        var counts = HashingMeasures.Counts(new RingHashStrategy().CreatePicker(endpoints), endpoints, HashingMeasures.Flows(100_000));
        var deviation = HashingMeasures.MaxDeviation(counts);
        output.WriteLine($"ring-hash N=10 default sizes: counts [{string.Join(", ", counts)}], max deviation {deviation:P2}");
        Assert.True(deviation < 0.15, $"max deviation {deviation:P2}");
    }

    [Fact]
    public void Pick_Weights31_SharesFollowWeights()
    {
        var endpoints = TestEndpoints.Create(3, 1);
        var counts = HashingMeasures.Counts(new RingHashStrategy().CreatePicker(endpoints), endpoints, HashingMeasures.Flows(100_000));
        output.WriteLine($"weights 3:1 → {counts[0] / 1000.0:F2}% / {counts[1] / 1000.0:F2}%");
        Assert.InRange(counts[0], 70_000, 80_000);
    }

    [Fact]
    public void Disruption_RemoveOneOfTen_OnlyItsKeysMove()
    {
        // Default sizes: 10 and 9 endpoints both get 200 nodes each, so the smaller ring is the larger one minus the
        // removed endpoint's nodes: consistent hashing's promise, exactly.
        var endpoints = TestEndpoints.Create(10);
        var (moved, movedOthers, onRemoved) = HashingMeasures.Disruption(new RingHashStrategy(), endpoints, 3, HashingMeasures.Flows(100_000));
        output.WriteLine($"ring-hash N=10 remove 1: moved {moved:P2} of all keys (on removed {onRemoved:P2}), extra {movedOthers:P3} of the others");
        Assert.Equal(0, movedOthers);
        Assert.Equal(onRemoved, moved, 12);
        Assert.InRange(moved, 0.1 - 0.03, 0.1 + 0.03);
    }

    [Fact]
    public void Disruption_SmallSets_ZeroExtraUnlessTheMultipleChanges()
    {
        // The multiple of 100 nodes that reaches 1024 is 11, 6, 4, 3, 3, 2 (6 to 10 endpoints), 1 (11 and more) for
        // 1, 2, 3, 4, 5, ... endpoints. From 4 to 3 it grows from 3 to 4: the survivors gain nodes 300..399, a quarter
        // of their nodes, and those take some keys from each other. Measured; bounded at 20%.
        var endpoints = TestEndpoints.Create(4);
        var (moved, movedOthers, onRemoved) = HashingMeasures.Disruption(new RingHashStrategy(), endpoints, 1, HashingMeasures.Flows(100_000));
        output.WriteLine($"ring-hash N=4 remove 1 (300 → 400 nodes each): moved {moved:P2} (on removed {onRemoved:P2}), extra {movedOthers:P3} of the others");
        Assert.True(movedOthers < 0.20, $"extra disruption {movedOthers:P3}");
        var (fiveMoved, fiveOthers, _) = HashingMeasures.Disruption(new RingHashStrategy(), TestEndpoints.Create(5), 1, HashingMeasures.Flows(100_000));
        output.WriteLine($"ring-hash N=5 remove 1 (300 nodes each before and after): moved {fiveMoved:P2}, extra {fiveOthers:P3}");
        Assert.Equal(0, fiveOthers);
    }

    [Fact]
    public void Pick_RetryAttempts_AreWhereTheKeyGoesWithoutTheEarlierEndpoints()
    {
        // minimumRingSize 1: 100 nodes each for 6, 5 and 4 endpoints alike (at the default 1024, 6 endpoints get 200
        // each and 5 get 300, and the extra nodes would change the answer for some keys).
        var endpoints = TestEndpoints.Create(6);
        var strategy = new RingHashStrategy(minimumRingSize: 1);
        var picker = strategy.CreatePicker(endpoints);
        for (var i = 0; i < 2_000; i++)
        {
            var first = picker.Pick(TestEndpoints.Flow(i))!;
            var second = picker.Pick(TestEndpoints.Flow(i, 1))!;
            var third = picker.Pick(TestEndpoints.Flow(i, 2))!;
            var withoutFirst = endpoints.Remove(first);
            Assert.Same(strategy.CreatePicker(withoutFirst).Pick(TestEndpoints.Flow(i)), second);
            if (i % 10 == 0)
            {
                Assert.Same(strategy.CreatePicker(withoutFirst.Remove(second)).Pick(TestEndpoints.Flow(i)), third);
            }
        }
    }

    [Theory]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 1, 1, 1, 1, 1 })]
    [InlineData(new[] { 10000, 1 })]
    public void Pick_RetryAttempt_ReturnsAnotherEndpoint(int[] weights)
    {
        HashingMeasures.AssertRetryDiffers(new RingHashStrategy().CreatePicker(TestEndpoints.Create(weights)));
    }

    [Fact]
    public void Pick_RetryAttemptsBeyondTheEndpointCount_WrapAround()
    {
        var endpoints = TestEndpoints.Create(3);
        var picker = new RingHashStrategy().CreatePicker(endpoints);
        for (var i = 0; i < 100; i++)
        {
            var seen = Enumerable.Range(0, 3).Select(attempt => picker.Pick(TestEndpoints.Flow(i, attempt))).ToHashSet();
            Assert.Equal(3, seen.Count);
            Assert.Same(picker.Pick(TestEndpoints.Flow(i)), picker.Pick(TestEndpoints.Flow(i, 3)));
        }
    }

    [Fact]
    public void Pick_SeparatelyBuiltEqualSets_Agree()
    {
        HashingMeasures.AssertSameChoices(new RingHashStrategy(), 1, 1, 1, 1, 1);
        HashingMeasures.AssertSameChoices(new RingHashStrategy(hashKey: HashKey.Flow), 3, 1, 2);
    }

    [Fact]
    public void Pick_AllocatesNothing()
    {
        Assert.Equal(0, PickerAllocations.Measure(new RingHashStrategy().CreatePicker(TestEndpoints.Create(16))));
    }

    [Fact]
    public void CreatePicker_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RingHashStrategy().CreatePicker([]));
    }

    [Theory]
    [InlineData(0, 1024, "minimumRingSize")]
    [InlineData(2048, 1024, "maximumRingSize")]
    [InlineData(1024, (1 << 23) + 1, "maximumRingSize")]
    public void Constructor_BadSizes_Throw(int minimum, int maximum, string parameter)
    {
        Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => new RingHashStrategy(minimum, maximum)).ParamName);
    }

    [Fact]
    public void Constructor_Defaults()
    {
        var strategy = new RingHashStrategy();
        Assert.Equal((1024, 1 << 20, HashKey.ClientAddress, BalancingStrategies.RingHash), (strategy.MinimumRingSize, strategy.MaximumRingSize, strategy.HashKey, strategy.Name));
        Assert.Equal("hashKey", Assert.Throws<ArgumentOutOfRangeException>(() => new RingHashStrategy(hashKey: (HashKey)(-1))).ParamName);
    }
}
