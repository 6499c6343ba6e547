using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// Power of two choices (Mitzenmacher, 2001): draws two distinct endpoints and takes the one with fewer
/// active connections relative to its weight (ties: the first drawn). Close to least-connections'
/// spread at constant cost per pick, and no herd onto one endpoint when many pickers see the same counts.
/// </summary>
/// <remarks>
/// <para>
/// Both candidates are drawn by weight, as <see cref="RandomStrategy"/> draws (the second among the
/// endpoints other than the first). Weights therefore count twice: in which endpoints are compared,
/// and in the comparison itself (connections divided by weight). Drawing by weight is what keeps the
/// weights when connections are short-lived and every count is zero: then each comparison is a tie,
/// the first candidate wins, and the first candidate was drawn by weight. With one endpoint, it is returned; an endpoint that has left the service loses every comparison.
/// </para>
/// <para>
/// A retry (<see cref="PickContext.Attempt"/> &gt; 0) recomputes the pick before it from the same
/// random stream and current counts (the forwarder has already taken the failed connect off the count,
/// so they are what the first attempt saw) and, when the new pair's winner is that endpoint, returns
/// the other candidate. With one connection at a time a retry thus never repeats the failed endpoint;
/// under concurrency the pick before may have been another connection's, and a repeat is possible.
/// </para>
/// </remarks>
/// <param name="seed">The random stream's seed, for reproducible tests and simulations; null (the default) draws one from <see cref="Random.Shared"/> for each picker.</param>
public sealed class PowerOfTwoChoicesStrategy(ulong? seed = null) : IBalancingStrategy
{
    /// <inheritdoc />
    public string Name => BalancingStrategies.PowerOfTwoChoices;

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        var array = PickerEndpoints.AsArray(endpoints);
        return new Picker(array, new WeightedIndex(array), SplitMix64.Seed(seed));
    }

    private sealed class Picker(EndpointState[] endpoints, WeightedIndex index, ulong seed) : IEndpointPicker
    {
        // The stream position of the last draw. A pick takes two positions at once, so its pair can
        // be recomputed from the position alone.
        private long _position;

        public EndpointState? Pick(in PickContext context)
        {
            if (endpoints.Length == 1)
            {
                return endpoints[0];
            }

            if (context.Attempt > 0)
            {
                var (failed, _) = Choose(Volatile.Read(ref _position));
                var (winner, other) = Choose(Interlocked.Add(ref _position, 2));
                return endpoints[winner == failed ? other : winner];
            }

            return endpoints[Choose(Interlocked.Add(ref _position, 2)).Winner];
        }

        /// <summary>The pair drawn at stream positions <paramref name="position"/> - 1 and <paramref name="position"/>, less loaded first.</summary>
        private (int Winner, int Other) Choose(long position)
        {
            var first = index.Sample(SplitMix64.At(seed, position - 1));
            var second = index.SampleExcept(SplitMix64.At(seed, position), first);
            var a = endpoints[first];
            var b = endpoints[second];
            // A removed endpoint loses to any other: it takes no new connections until the picker is rebuilt.
            var secondWins = a.IsRemoved != b.IsRemoved
                ? a.IsRemoved
                : EndpointLoad.Compare(b.ActiveConnections, b.Weight, a.ActiveConnections, a.Weight) < 0;
            return secondWins
                ? (second, first)
                : (first, second);
        }
    }
}
