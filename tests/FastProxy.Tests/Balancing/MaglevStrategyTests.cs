using System.Collections.Immutable;
using FastProxy.Model;
using Xunit.Abstractions;

namespace FastProxy.Balancing.Tests;

public sealed class MaglevStrategyTests(ITestOutputHelper output)
{
    [Fact]
    public void Populate_PaperExample_MatchesPaperTable()
    {
        // NSDI 2016, Table 1: B0 (offset 3, skip 4), B1 (offset 0, skip 2), B2 (offset 3, skip 1), M = 7.
        // Round 1: B0 takes 3, B1 takes 0, B2 finds 3 taken and takes 4. Round 2: B0 finds 0 and 4 taken,
        // takes 1; B1 takes 2; B2 takes 5. Round 3: B0 finds 5 and 2 taken, takes 6.
        var table = MaglevStrategy.Populate([3, 0, 3], [4, 2, 1], [1, 1, 1], 7);
        Assert.Equal([1, 0, 1, 0, 2, 2, 0], table);
    }

    [Fact]
    public void Populate_PaperExampleWithoutB1_MatchesPaperTable()
    {
        // The paper's table after B1 fails: slots 0 and 2 (B1's) go to B0, slot 6 moves from B0 to B2.
        var table = MaglevStrategy.Populate([3, 3], [4, 1], [1, 1], 7);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1], table);
    }

    [Fact]
    public void Populate_Weighted_HeavyEndpointFillsEveryRound()
    {
        // B0 weight 2, B1 weight 1, M = 7, B0 permutation 0,1,2,... and B1 permutation 3,4,5,...
        // Round 1: B0 → 0, B1 → 3. Round 2: B0 → 1 (B1 has filled 1 ≥ 2 × 1/2, waits). Round 3: B0 → 2,
        // B1 → 4. Round 4: B0 → 5 (its next free after 3 and 4). Round 5: B0 → 6. B0 ends with 5 of 7.
        var table = MaglevStrategy.Populate([0, 3], [1, 1], [2, 1], 7);
        Assert.Equal([0, 0, 0, 1, 1, 0, 0], table);
    }

    [Theory]
    [InlineData(13, new[] { 1, 1, 1, 1, 1 })]
    [InlineData(13, new[] { 3, 1, 2 })]
    [InlineData(101, new[] { 7, 1, 1, 2, 5, 1 })]
    [InlineData(7, new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 })]
    public void BuildTable_SmallPrime_MatchesStraightforwardImplementation(int tableSize, int[] weights)
    {
        var endpoints = TestEndpoints.Create(weights);
        var expected = ReferenceTable(endpoints, tableSize);
        Assert.Equal(expected, MaglevStrategy.BuildTable(endpoints.AsSpan(), tableSize));
        output.WriteLine($"M={tableSize} weights=[{string.Join(",", weights)}]: [{string.Join(",", expected)}]");
    }

    [Fact]
    public void BuildTable_DefaultSize_FillsEverySlotWithNearEqualShares()
    {
        const int size = 65537;
        foreach (var n in new[] { 3, 10, 100 })
        {
            var table = MaglevStrategy.BuildTable(TestEndpoints.Create(n).AsSpan(), size);
            Assert.All(table, index => Assert.InRange(index, 0, n - 1));
            var counts = new int[n];
            foreach (var index in table)
            {
                counts[index]++;
            }

            // Equal weights fill one slot each per round, so shares differ by at most one slot; 1% of M/N is
            // the paper's bar.
            var deviation = HashingMeasures.MaxDeviation(counts);
            output.WriteLine($"n={n}: slots {counts.Min()}..{counts.Max()}, max deviation {deviation:P3}");
            Assert.True(deviation < 0.01, $"n={n}: deviation {deviation:P3}");
            Assert.True(counts.Max() - counts.Min() <= 1);
        }
    }

    [Fact]
    public void BuildTable_Weights211_SharesFollowWeights()
    {
        var table = MaglevStrategy.BuildTable(TestEndpoints.Create(2, 1, 1).AsSpan(), 65537);
        var shares = Enumerable.Range(0, 3).Select(i => table.Count(t => t == i) / (double)table.Length).ToArray();
        output.WriteLine($"shares {string.Join(" / ", shares.Select(s => s.ToString("P3", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.InRange(shares[0], 0.48, 0.52);
        Assert.InRange(shares[1], 0.23, 0.27);
        Assert.InRange(shares[2], 0.23, 0.27);
    }

    [Fact]
    public void Pick_Weights211_TrafficFollowsWeights()
    {
        var endpoints = TestEndpoints.Create(2, 1, 1);
        var counts = HashingMeasures.Counts(new MaglevStrategy().CreatePicker(endpoints), endpoints, HashingMeasures.Flows(100_000));
        Assert.InRange(counts[0], 48_000, 52_000);
        Assert.InRange(counts[1], 23_000, 27_000);
        Assert.InRange(counts[2], 23_000, 27_000);
    }

    [Fact]
    public void BuildTable_MoreEndpointsThanSlots_FirstEndpointsTakeTheSlots()
    {
        // Documented degradation: the table still fills, one slot per endpoint in address order.
        var table = MaglevStrategy.BuildTable(TestEndpoints.Create(20).AsSpan(), 7);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], table.Order());
    }

    [Fact]
    public void Disruption_RemoveOneOfTen_MovesLittleBesidesItsKeys()
    {
        var endpoints = TestEndpoints.Create(10);
        var (moved, movedOthers, onRemoved) = HashingMeasures.Disruption(new MaglevStrategy(), endpoints, 3, HashingMeasures.Flows(100_000));
        output.WriteLine($"maglev M=65537 N=10 remove 1: moved {moved:P2} of all keys (on removed {onRemoved:P2}), extra {movedOthers:P3} of the others");
        Assert.True(movedOthers < 0.02, $"extra disruption {movedOthers:P3}");
        Assert.InRange(moved, 0.1 - 0.03, 0.1 + 0.03);
    }

    [Fact]
    public void Pick_SeparatelyBuiltEqualSets_Agree()
    {
        HashingMeasures.AssertSameChoices(new MaglevStrategy(), 1, 1, 1, 1, 1);
        HashingMeasures.AssertSameChoices(new MaglevStrategy(13, HashKey.Flow), 3, 1, 2);
    }

    [Fact]
    public void Pick_ClientAddressKey_IgnoresPort_FlowKeySpreadsPorts()
    {
        var endpoints = TestEndpoints.Create(10);
        var byClient = new MaglevStrategy().CreatePicker(endpoints);
        var byFlow = new MaglevStrategy(hashKey: HashKey.Flow).CreatePicker(endpoints);
        var client = new System.Net.IPAddress([10, 1, 2, 3]);
        var sticky = new HashSet<EndpointState>();
        var spread = new HashSet<EndpointState>();
        for (var port = 40000; port < 40100; port++)
        {
            var context = PickContext.ForClient(new System.Net.IPEndPoint(client, port));
            sticky.Add(byClient.Pick(context)!);
            spread.Add(byFlow.Pick(context)!);
        }

        Assert.Single(sticky);
        Assert.Equal(10, spread.Count);
    }

    [Theory]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 1, 1, 1, 1, 1 })]
    [InlineData(new[] { 10000, 1 })]
    public void Pick_RetryAttempt_ReturnsAnotherEndpoint(int[] weights)
    {
        HashingMeasures.AssertRetryDiffers(new MaglevStrategy().CreatePicker(TestEndpoints.Create(weights)));
    }

    [Fact]
    public void Pick_AllocatesNothing()
    {
        Assert.Equal(0, PickerAllocations.Measure(new MaglevStrategy().CreatePicker(TestEndpoints.Create(16))));
    }

    [Fact]
    public void CreatePicker_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => new MaglevStrategy().CreatePicker([]));
        Assert.Throws<ArgumentException>(() => new MaglevStrategy().CreatePicker(default));
    }

    [Theory]
    [InlineData(65536)]
    [InlineData(15)]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-7)]
    [InlineData(2147483647)]
    public void Constructor_BadTableSize_Throws(int tableSize)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MaglevStrategy(tableSize));
        Assert.Equal("tableSize", e.ParamName);
    }

    [Fact]
    public void Constructor_PrimeSizes_Accepted()
    {
        Assert.Equal(2, new MaglevStrategy(2).TableSize);
        Assert.Equal(65537, new MaglevStrategy().TableSize);
        Assert.Equal(BalancingStrategies.Maglev, new MaglevStrategy(7).Name);
        Assert.Equal("hashKey", Assert.Throws<ArgumentOutOfRangeException>(() => new MaglevStrategy(7, (HashKey)2)).ParamName);
    }

    /// <summary>
    /// The paper's Pseudocode 1 written out as plainly as possible: full permutation lists, next[i] as an index
    /// into them, and the weighted round rule as a fraction comparison.
    /// </summary>
    private static int[] ReferenceTable(ImmutableArray<EndpointState> endpoints, int m)
    {
        var n = endpoints.Length;
        var permutation = new int[n][];
        for (var i = 0; i < n; i++)
        {
            var name = endpoints[i].EndPoint.ToString();
            var offset = ClientHashing.Hash(name, MaglevStrategy.OffsetSeed) % (ulong)m;
            var skip = (ClientHashing.Hash(name, MaglevStrategy.SkipSeed) % (ulong)(m - 1)) + 1;
            permutation[i] = [.. Enumerable.Range(0, m).Select(j => (int)((offset + ((ulong)j * skip)) % (ulong)m))];
        }

        var maxWeight = endpoints.Max(e => e.Weight);
        var next = new int[n];
        var filled = new int[n];
        var entry = Enumerable.Repeat(-1, m).ToArray();
        var placed = 0;
        for (var round = 1; ; round++)
        {
            for (var i = 0; i < n; i++)
            {
                if ((decimal)filled[i] >= (decimal)round * endpoints[i].Weight / maxWeight)
                {
                    continue;
                }

                var c = permutation[i][next[i]];
                while (entry[c] >= 0)
                {
                    next[i]++;
                    c = permutation[i][next[i]];
                }

                entry[c] = i;
                next[i]++;
                filled[i]++;
                if (++placed == m)
                {
                    return entry;
                }
            }
        }
    }
}
