using System.Collections.Immutable;
using System.Net;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Balancing.Tests;

public sealed class RoundRobinStrategyTests
{
    private static ImmutableArray<EndpointState> Endpoints(int count) => TestEndpoints.Create(count);

    [Fact]
    public void Pick_CyclesInOrder()
    {
        var endpoints = Endpoints(3);
        var picker = new RoundRobinStrategy().CreatePicker(endpoints);
        var picked = Enumerable.Range(0, 7).Select(_ => picker.Pick(default)).ToArray();
        Assert.Equal([endpoints[0], endpoints[1], endpoints[2], endpoints[0], endpoints[1], endpoints[2], endpoints[0]], picked);
    }

    [Fact]
    public void Pick_Concurrent_SpreadsExactlyEvenly()
    {
        var endpoints = Endpoints(4);
        var picker = new RoundRobinStrategy().CreatePicker(endpoints);
        var counts = new int[4];
        Parallel.For(0, 40_000, _ =>
        {
            var endpoint = picker.Pick(default)!;
            Interlocked.Increment(ref counts[endpoints.IndexOf(endpoint)]);
        });
        Assert.All(counts, c => Assert.Equal(10_000, c));
    }

    [Fact]
    public void Pick_RetryAttempt_ReturnsAnotherEndpoint()
    {
        var picker = new RoundRobinStrategy().CreatePicker(Endpoints(3));
        var first = picker.Pick(TestEndpoints.Flow(42));
        var retry = picker.Pick(TestEndpoints.Flow(42, 1));
        Assert.NotSame(first, retry);
    }

    [Fact]
    public void Pick_AllocatesNothing()
    {
        var picker = new RoundRobinStrategy().CreatePicker(Endpoints(16));
        var context = TestEndpoints.Flow(7);

        // Warm the loop up first: on-stack replacement compiles it on this thread, and the JIT's own
        // allocations (a few KB once) would count; a real allocation per pick would be 10,000 of them.
        for (var i = 0; i < 10_000; i++)
        {
            picker.Pick(context);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            picker.Pick(context);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void CreatePicker_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => new RoundRobinStrategy().CreatePicker([]));
    }
}
