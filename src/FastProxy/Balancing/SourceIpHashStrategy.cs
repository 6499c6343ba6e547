using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// Source-IP hashing: the client address's hash mapped onto the endpoint list, weighted. Every connection
/// from one client goes to the same endpoint, with no table to build or keep.
/// </summary>
/// <remarks>
/// The mapping depends on the endpoint count, so adding or removing an endpoint moves most clients (about
/// (N−1)/N of them); use <see cref="MaglevStrategy"/> or <see cref="RingHashStrategy"/> when that matters. Building
/// is O(N) (a cumulative weight array of N longs, only when weights differ); a pick is a multiply, plus a
/// binary search over the weights when they differ.
/// </remarks>
public sealed class SourceIpHashStrategy : IBalancingStrategy
{
    /// <inheritdoc />
    public string Name => BalancingStrategies.SourceIpHash;

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        var array = PickerEndpoints.AsArray(endpoints);
        var equal = true;
        foreach (var endpoint in array)
        {
            equal &= endpoint.Weight == array[0].Weight;
        }

        // With equal weights the cumulative array would be 1, 2, ..., N and the search would return the
        // multiply-shift index itself, so skipping it changes no answer.
        long[]? cumulative = null;
        if (!equal)
        {
            cumulative = new long[array.Length];
            long sum = 0;
            for (var i = 0; i < array.Length; i++)
            {
                // As the other hashing strategies count them: a weight below 1 counts as 1.
                sum += Math.Max(1, array[i].Weight);
                cumulative[i] = sum;
            }
        }

        return new Picker(array, cumulative);
    }

    private sealed class Picker(EndpointState[] endpoints, long[]? cumulative) : IEndpointPicker
    {
        public EndpointState? Pick(in PickContext context)
        {
            var index = cumulative is null
                ? (int)HashMixing.Reduce(context.ClientHash, (ulong)endpoints.Length)
                : Weighted(context.ClientHash, cumulative);

            // A retry takes the next endpoints in address order: different from the first pick whenever
            // there are at least two, and the same on every sidecar.
            if (context.Attempt > 0)
            {
                index = (int)((index + (uint)context.Attempt) % (uint)endpoints.Length);
            }

            return endpoints[index];
        }

        // The first endpoint whose cumulative weight exceeds the hash scaled onto [0, total weight).
        private static int Weighted(ulong hash, long[] cumulative)
        {
            var point = (long)HashMixing.Reduce(hash, (ulong)cumulative[^1]);
            int low = 0, high = cumulative.Length - 1;
            while (low < high)
            {
                var middle = (int)((uint)(low + high) >> 1);
                if (cumulative[middle] <= point)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            return low;
        }
    }
}
