using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing.Tests;

public sealed class LeastConnectionsStrategyTests
{
    private static ImmutableArray<EndpointState> Loaded(int[] weights, int[] loads)
    {
        var endpoints = TestEndpoints.Create(weights);
        for (var i = 0; i < loads.Length; i++)
        {
            TestEndpoints.Open(endpoints[i], loads[i]);
        }

        return endpoints;
    }

    [Fact]
    public void Name_IsLeastConnections()
    {
        Assert.Equal("least-connections", new LeastConnectionsStrategy().Name);
    }

    [Fact]
    public void Pick_TakesTheLeastLoaded()
    {
        var endpoints = Loaded([1, 1, 1], [3, 0, 2]);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        for (var i = 0; i < 6; i++)
        {
            Assert.Same(endpoints[1], picker.Pick(TestEndpoints.Flow(i)));
        }
    }

    [Fact]
    public void Pick_DividesLoadByWeight()
    {
        // 4/4 = 1 beats 2/1 = 2 and 3/2 = 1.5, although 4 connections is the most.
        var endpoints = Loaded([1, 4, 2], [2, 4, 3]);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        Assert.Same(endpoints[1], picker.Pick(default));
    }

    [Fact]
    public void Pick_TiedByWeight_SharesInTurn()
    {
        // 2 of weight 2 and 1 of weight 1 are the same relative load: the picks alternate.
        var endpoints = Loaded([2, 1], [2, 1]);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        var picked = Enumerable.Range(0, 6).Select(i => endpoints.IndexOf(picker.Pick(TestEndpoints.Flow(i))!));
        Assert.Equal([0, 1, 0, 1, 0, 1], picked);
    }

    [Fact]
    public void Pick_AfterOpeningOnThePicked_MovesOn()
    {
        var endpoints = Loaded([1, 1, 1], [1, 0, 1]);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        var first = picker.Pick(default)!;
        Assert.Same(endpoints[1], first);
        TestEndpoints.Open(first, 2);

        // Now 1, 2, 1: one of the two others; after loading that one too (1, 2, 2), the last.
        var second = picker.Pick(default)!;
        Assert.NotSame(first, second);
        Assert.Equal(1, second.ActiveConnections);
        TestEndpoints.Open(second);
        var third = picker.Pick(default)!;
        Assert.Equal(3, new[] { first, second, third }.Distinct().Count());
        Assert.Equal(1, third.ActiveConnections);
    }

    [Fact]
    public void Pick_FollowsLoadAsConnectionsOpen_SpreadsByWeight()
    {
        // Each pick opens a connection on the picked endpoint, as the forwarder does: the counts end up proportional to the weights.
        var endpoints = TestEndpoints.Create(3, 1, 2);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        for (var i = 0; i < 600; i++)
        {
            TestEndpoints.Open(picker.Pick(TestEndpoints.Flow(i))!);
        }

        Assert.Equal([300L, 100L, 200L], endpoints.Select(e => e.ActiveConnections));
    }

    [Fact]
    public void Pick_SkipsRemoved_NullWhenAllRemoved()
    {
        var endpoints = Loaded([1, 1, 1], [5, 0, 5]);
        endpoints[1].MarkRemoved();
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        for (var i = 0; i < 4; i++)
        {
            Assert.NotSame(endpoints[1], picker.Pick(TestEndpoints.Flow(i)));
        }

        endpoints[0].MarkRemoved();
        endpoints[2].MarkRemoved();
        Assert.Null(picker.Pick(default));
        Assert.Null(picker.Pick(TestEndpoints.Flow(0, 1)));
    }

    [Fact]
    public void Pick_Retry_TakesTheNextByRank()
    {
        var endpoints = Loaded([1, 1, 1, 1], [0, 5, 2, 9]);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        Assert.Same(endpoints[0], picker.Pick(TestEndpoints.Flow(7)));
        Assert.Same(endpoints[2], picker.Pick(TestEndpoints.Flow(7, 1)));
        Assert.Same(endpoints[1], picker.Pick(TestEndpoints.Flow(7, 2)));
        Assert.Same(endpoints[3], picker.Pick(TestEndpoints.Flow(7, 3)));
    }

    [Fact]
    public void Pick_Retry_AllTied_NeverRepeatsTheFirstAttempt()
    {
        // With two tied endpoints a plain rescan from a new offset would pick the failed one half the time.
        var endpoints = TestEndpoints.Create(2);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        for (var i = 0; i < 50; i++)
        {
            var first = picker.Pick(TestEndpoints.Flow(i));
            Assert.NotSame(first, picker.Pick(TestEndpoints.Flow(i, 1)));
        }
    }

    [Fact]
    public void Pick_Concurrent_OnlyEndpointsOfTheSet()
    {
        var endpoints = TestEndpoints.Create(3, 1, 2, 5);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        var counts = new int[endpoints.Length];
        Parallel.For(0, 20_000, i =>
        {
            var index = endpoints.IndexOf(picker.Pick(TestEndpoints.Flow(i, i % 3))!);
            Interlocked.Increment(ref counts[index]);
        });
        Assert.Equal(20_000, counts.Sum());
        Assert.All(counts, c => Assert.True(c > 0));
    }

    [Fact]
    public void Pick_AllocatesNothing()
    {
        var picker = new LeastConnectionsStrategy().CreatePicker(Loaded([1, 2, 3, 1, 1, 5, 2, 1], [3, 1, 4, 1, 5, 9, 2, 6]));
        Assert.Equal(0, PickerAllocations.Measure(picker, lastAttempt: 3));
    }

    [Fact]
    public void CreatePicker_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => new LeastConnectionsStrategy().CreatePicker([]));
    }
}

/// <summary>Least-connections above <see cref="LeastConnectionsStrategy.ScanLimit"/> endpoints: the tree of loads.</summary>
public sealed class LeastConnectionsTreeTests
{
    private const int Count = LeastConnectionsStrategy.ScanLimit * 2 + 3;

    [Fact]
    public void Pick_TakesTheUniqueLeastLoaded()
    {
        var endpoints = TestEndpoints.Create(Count);
        foreach (var endpoint in endpoints)
        {
            TestEndpoints.Open(endpoint, 2);
        }

        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        endpoints[73].OnConnectionClosed();
        Assert.Same(endpoints[73], picker.Pick(default));

        // Once it is as loaded as the others again, another endpoint is the least.
        endpoints[73].OnConnecting();
        endpoints[101].OnConnectionClosed();
        Assert.Same(endpoints[101], picker.Pick(default));
    }

    [Fact]
    public void ShortConnections_EveryEndpointTakesItsTurn()
    {
        // Each connection ends before the next starts, so every load is 0 at every pick: the tie-break
        // (fewest connects started) must still spread them exactly evenly.
        var endpoints = TestEndpoints.Create(Count);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        var counts = new int[Count];
        for (var i = 0; i < Count * 10; i++)
        {
            var endpoint = picker.Pick(default)!;
            endpoint.OnConnecting();
            endpoint.OnConnectionClosed();
            counts[endpoints.IndexOf(endpoint)]++;
        }

        Assert.All(counts, c => Assert.Equal(10, c));
    }

    [Fact]
    public void LongConnections_SpreadByWeight()
    {
        var weights = Enumerable.Range(0, Count).Select(i => i % 3 == 0 ? 3 : 1).ToArray();
        var endpoints = TestEndpoints.Create(weights);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        var total = weights.Sum() * 4;
        for (var i = 0; i < total; i++)
        {
            TestEndpoints.Open(picker.Pick(default)!);
        }

        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(4 * weights[i], endpoints[i].ActiveConnections);
        }
    }

    [Fact]
    public void Pick_NeverARemovedEndpoint()
    {
        var endpoints = TestEndpoints.Create(Count);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        var least = picker.Pick(default)!;
        least.MarkRemoved();
        for (var i = 0; i < Count; i++)
        {
            var picked = picker.Pick(default)!;
            Assert.False(picked.IsRemoved);
            TestEndpoints.Open(picked);
        }
    }

    [Fact]
    public void ConcurrentOpensAndCloses_LeaveTheTreeConsistent()
    {
        var endpoints = TestEndpoints.Create(Count);
        var picker = new LeastConnectionsStrategy().CreatePicker(endpoints);
        Parallel.For(0, 20_000, i =>
        {
            var endpoint = picker.Pick(default)!;
            endpoint.OnConnecting();
            if (i % 2 == 0)
            {
                endpoint.OnConnectionClosed();
            }
        });

        // 10,000 connections stay open; once the racing updates are over, one more update per endpoint
        // settles every path and the root is a true least. Long-lived picks kept loads within a few of each other.
        foreach (var endpoint in endpoints)
        {
            endpoint.OnConnecting();
            endpoint.OnConnectionClosed();
        }

        var min = endpoints.Min(e => e.ActiveConnections);
        Assert.Equal(min, picker.Pick(default)!.ActiveConnections);
        Assert.InRange(endpoints.Max(e => e.ActiveConnections) - min, 0, 8);
    }

    [Fact]
    public void Pick_AllocatesNothing()
    {
        var picker = new LeastConnectionsStrategy().CreatePicker(TestEndpoints.Create(Count));
        Assert.Equal(0, PickerAllocations.Measure(picker));
    }
}
