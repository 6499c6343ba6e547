using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// Least connections: each pick scans every endpoint and takes the one with the fewest active
/// connections relative to its weight. Removed endpoints are skipped; when all are removed the pick is null.
/// </summary>
/// <remarks>
/// <para>
/// Up to 64 endpoints, a pick is one pass over them (no division: loads are compared by
/// cross-multiplying), starting at an offset that advances by one on every pick, so endpoints tied
/// for least load take turns instead of the first of them taking every connection until its count
/// rises. Beyond 64, the picker keeps a <see cref="LeastLoadTree"/>: every connection count change
/// refreshes the endpoint's path to the root (log2 n comparisons, on connect and close), and a pick
/// reads the root; ties go to the endpoint with the fewest connects started relative to its weight.
/// </para>
/// <para>
/// A retry (<see cref="PickContext.Attempt"/> = k &gt; 0) returns the endpoint ranked k-th by load
/// (ties in scan order) instead of the least loaded, costing k + 1 passes. It scans from the offset
/// of the pick before it rather than a new one; the forwarder has taken the failed connect off the
/// count again, so with one connection at a time the ranking is the one the first attempt saw and
/// the retry never repeats an endpoint that failed. Under concurrency the offset or the counts may
/// have moved on, and a repeat is possible.
/// </para>
/// </remarks>
public sealed class LeastConnectionsStrategy : IBalancingStrategy
{
    /// <inheritdoc />
    public string Name => BalancingStrategies.LeastConnections;

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        var array = PickerEndpoints.AsArray(endpoints);
        return new Picker(array, array.Length > ScanLimit ? new LeastLoadTree(array) : null);
    }

    /// <summary>Up to this many endpoints a pick scans them all; beyond, a tree of loads answers in one read.</summary>
    internal const int ScanLimit = 64;

    private sealed class Picker(EndpointState[] endpoints, LeastLoadTree? tree) : IEndpointPicker
    {
        // Starts at -1 so the first pick after a rebuild scans from the first endpoint.
        private int _offset = -1;

        public EndpointState? Pick(in PickContext context)
        {
            var n = (uint)endpoints.Length;
            if (context.Attempt <= 0 && tree is not null)
            {
                // The root can trail a removal by one update: then scan, as for a small set.
                var least = endpoints[tree.Least];
                if (!least.IsRemoved)
                {
                    return least;
                }
            }

            if (context.Attempt <= 0)
            {
                // The uint cast keeps the offset positive when the counter wraps.
                var start = (int)((uint)Interlocked.Increment(ref _offset) % n);
                var best = Least(start, -1, 0, 1, out _, out _);
                return best < 0 ? null : endpoints[best];
            }

            var retryStart = (int)((uint)Volatile.Read(ref _offset) % n);
            var first = Least(retryStart, -1, 0, 1, out var active, out var weight);
            var current = first;
            for (var rank = 1; rank <= (int)Math.Min((uint)context.Attempt, n - 1) && current >= 0; rank++)
            {
                var position = (int)(((uint)current + n - (uint)retryStart) % n);
                current = Least(retryStart, position, active, weight, out active, out weight);
            }

            // Fewer endpoints left in service than the rank asked for: start over from the least loaded.
            return current >= 0 ? endpoints[current] : first < 0 ? null : endpoints[first];
        }

        /// <summary>
        /// The index of the least-loaded endpoint in service, scanning from <paramref name="start"/>, among
        /// those ranked after the one at scan position <paramref name="afterPosition"/> with load
        /// <paramref name="afterActive"/> / <paramref name="afterWeight"/> (-1: no such bound). -1 when none.
        /// </summary>
        private int Least(int start, int afterPosition, long afterActive, int afterWeight, out long bestActive, out int bestWeight)
        {
            var best = -1;
            bestActive = 0;
            bestWeight = 1;
            for (var position = 0; position < endpoints.Length; position++)
            {
                var i = start + position;
                if (i >= endpoints.Length)
                {
                    i -= endpoints.Length;
                }

                var endpoint = endpoints[i];
                if (endpoint.IsRemoved)
                {
                    continue;
                }

                // Read each count once: it may change under us, and one value keeps the comparisons consistent.
                var active = endpoint.ActiveConnections;
                var weight = endpoint.Weight;
                if (afterPosition >= 0)
                {
                    var order = EndpointLoad.Compare(active, weight, afterActive, afterWeight);
                    if (order < 0 || (order == 0 && position <= afterPosition))
                    {
                        continue;
                    }
                }

                // Strictly less: among equals the first in scan order wins, which is what the rotating start shares out.
                if (best < 0 || EndpointLoad.Compare(active, weight, bestActive, bestWeight) < 0)
                {
                    best = i;
                    bestActive = active;
                    bestWeight = weight;
                }
            }

            return best;
        }
    }
}
