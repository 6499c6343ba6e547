using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// Weighted random: each pick draws an endpoint with probability proportional to its weight. There is
/// no schedule to keep, only a shared stream counter, and the spread is even on average only.
/// </summary>
/// <remarks>
/// Draws come from a counter-based SplitMix64 stream: a pick is one <see cref="Interlocked"/> increment,
/// a few multiplications, and with unequal weights one read of an alias table (Walker/Vose), whatever the endpoint count.
/// A retry (<see cref="PickContext.Attempt"/> &gt; 0) recomputes the draw of the pick before it and
/// draws among the other endpoints, so with one connection at a time it never repeats the endpoint
/// that failed; when connections are picked concurrently the pick before may belong to another
/// connection and the retry can land on the failed endpoint (with probability its share).
/// </remarks>
/// <param name="seed">The stream's seed, for reproducible tests and simulations; null (the default) draws one from <see cref="Random.Shared"/> for each picker.</param>
public sealed class RandomStrategy(ulong? seed = null) : IBalancingStrategy
{
    /// <inheritdoc />
    public string Name => BalancingStrategies.Random;

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        var array = PickerEndpoints.AsArray(endpoints);
        return new Picker(array, new WeightedIndex(array), SplitMix64.Seed(seed));
    }

    private sealed class Picker(EndpointState[] endpoints, WeightedIndex index, ulong seed) : IEndpointPicker
    {
        // The stream position of the last draw; every pick takes the next one.
        private long _position;

        public EndpointState? Pick(in PickContext context)
        {
            if (context.Attempt > 0 && endpoints.Length > 1)
            {
                // Read before taking a new position, so that with one connection at a time this is the
                // draw of the attempt that just failed.
                var failed = index.Sample(SplitMix64.At(seed, Volatile.Read(ref _position)));
                return endpoints[index.SampleExcept(Next(), failed)];
            }

            return endpoints[index.Sample(Next())];
        }

        private ulong Next() => SplitMix64.At(seed, Interlocked.Increment(ref _position));
    }
}
