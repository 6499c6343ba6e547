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
        return new Picker(array, new WeightedIndex(array, forSampling: false));
    }

    private sealed class Picker(EndpointState[] endpoints, WeightedIndex index) : IEndpointPicker
    {
        public EndpointState? Pick(in PickContext context)
        {
            var chosen = index.Locate(context.ClientHash);

            // A retry takes the next endpoints in address order: different from the first pick whenever
            // there are at least two, and the same on every sidecar.
            if (context.Attempt > 0)
            {
                chosen = (int)((chosen + (uint)context.Attempt) % (uint)endpoints.Length);
            }

            return endpoints[chosen];
        }
    }
}
