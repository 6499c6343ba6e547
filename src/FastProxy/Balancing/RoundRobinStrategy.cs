using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>Round-robin: each pick takes the next endpoint in a fixed order.</summary>
public sealed class RoundRobinStrategy : IBalancingStrategy
{
    /// <inheritdoc />
    public string Name => BalancingStrategies.RoundRobin;

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        return new Picker(PickerEndpoints.AsArray(endpoints));
    }

    private sealed class Picker(EndpointState[] endpoints) : IEndpointPicker
    {
        // Starts at -1 so the first pick after a rebuild takes the first endpoint. The cursor lives in
        // the picker, so it restarts when the endpoint set changes; that is what kube-proxy's
        // userspace round robin did as well.
        private int _cursor = -1;

        public EndpointState? Pick(in PickContext context)
        {
            // Interlocked keeps concurrent accepts from taking the same slot; the uint cast keeps the
            // index positive when the counter wraps after 2^31 connections.
            var next = (uint)Interlocked.Increment(ref _cursor);
            return endpoints[next % (uint)endpoints.Length];
        }
    }
}
