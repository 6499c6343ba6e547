using System.Collections.Immutable;
using System.Net;
using FastProxy.Model;

namespace FastProxy.Balancing.Tests;

/// <summary>Measurements shared by the hashing-strategy tests: spread, disruption, agreement and allocations.</summary>
internal static class HashingMeasures
{
    /// <summary>Contexts for client flows 0 .. count−1, built up front so measuring picks allocates nothing else.</summary>
    public static PickContext[] Flows(int count, int attempt = 0)
        => [.. Enumerable.Range(0, count).Select(i => TestEndpoints.Flow(i, attempt))];

    /// <summary>How many of <paramref name="flows"/> each endpoint receives.</summary>
    public static int[] Counts(IEndpointPicker picker, ImmutableArray<EndpointState> endpoints, PickContext[] flows)
    {
        var counts = new int[endpoints.Length];
        foreach (var flow in flows)
        {
            counts[endpoints.IndexOf(picker.Pick(flow)!)]++;
        }

        return counts;
    }

    /// <summary>The largest relative deviation of a count from the mean (0.1 = 10%).</summary>
    public static double MaxDeviation(int[] counts)
    {
        var mean = counts.Average();
        return counts.Max(c => Math.Abs(c - mean) / mean);
    }

    /// <summary>The endpoint set without the endpoint at <paramref name="index"/>: the same instances, as the catalog would pass them.</summary>
    public static ImmutableArray<EndpointState> Without(ImmutableArray<EndpointState> endpoints, int index)
        => endpoints.RemoveAt(index);

    /// <summary>
    /// Picks every flow with a picker for <paramref name="endpoints"/> and one for the set without endpoint
    /// <paramref name="removed"/>: the fraction of all flows that changed endpoint, and the fraction of the flows
    /// not on the removed endpoint that changed anyway (the extra disruption).
    /// </summary>
    public static (double Moved, double MovedOthers, double OnRemoved) Disruption(IBalancingStrategy strategy, ImmutableArray<EndpointState> endpoints, int removed, PickContext[] flows)
    {
        var before = strategy.CreatePicker(endpoints);
        var after = strategy.CreatePicker(Without(endpoints, removed));
        int moved = 0, others = 0, movedOthers = 0;
        foreach (var flow in flows)
        {
            var first = before.Pick(flow)!;
            var second = after.Pick(flow)!;
            Assert.NotSame(endpoints[removed], second);
            if (!ReferenceEquals(first, second))
            {
                moved++;
            }

            if (!ReferenceEquals(first, endpoints[removed]))
            {
                others++;
                if (!ReferenceEquals(first, second))
                {
                    movedOthers++;
                }
            }
        }

        return ((double)moved / flows.Length, (double)movedOthers / others, 1 - ((double)others / flows.Length));
    }

    /// <summary>The addresses two pickers of separately built but equal endpoint sets choose for the same flows.</summary>
    public static void AssertSameChoices(IBalancingStrategy strategy, params int[] weights)
    {
        // Two sets of distinct EndpointState instances, as two sidecars would hold, compared by address.
        var first = strategy.CreatePicker(TestEndpoints.Create(weights));
        var second = strategy.CreatePicker(TestEndpoints.Create(weights));
        var distinct = new HashSet<IPEndPoint>();
        for (var i = 0; i < 10_000; i++)
        {
            var a = first.Pick(TestEndpoints.Flow(i))!.EndPoint;
            Assert.Equal(a, second.Pick(TestEndpoints.Flow(i))!.EndPoint);
            distinct.Add(a);
        }

        // Agreement on one endpoint for every flow would prove nothing.
        Assert.Equal(weights.Length, distinct.Count);
    }

    /// <summary>Asserts that attempt 1 picks a different endpoint from attempt 0 for every one of many flows.</summary>
    public static void AssertRetryDiffers(IEndpointPicker picker)
    {
        for (var i = 0; i < 10_000; i++)
        {
            var first = picker.Pick(TestEndpoints.Flow(i))!;
            Assert.NotSame(first, picker.Pick(TestEndpoints.Flow(i, 1)));
        }
    }
}
