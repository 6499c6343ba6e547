using System.Collections.Immutable;
using System.Numerics;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// nginx's smooth weighted round-robin: over every period of (sum of weights) picks, each endpoint is
/// picked as often as its weight, interleaved rather than in bursts (weights 5, 1, 1 give a a b a c a a).
/// </summary>
/// <remarks>
/// <para>
/// The schedule is precomputed when the picker is built: weights are divided by their greatest common
/// divisor, nginx's steps are run for one period (each step adds every weight to its endpoint's
/// current value, takes the endpoint with the highest, lowest index on ties, and subtracts the total
/// from it), and the picked indices are stored. A pick is then one <see cref="Interlocked"/> increment
/// and an array read.
/// </para>
/// <para>
/// The period is bounded to <see cref="MaxPeriod"/> slots (2 bytes each, plus 2 for the retry table,
/// while there are at most 65,536 endpoints). When the reduced weights sum to more, they are scaled down
/// proportionally, each to at least 1, so the period fits: the weights are then approximated, each
/// share off by less than one slot in 65,536 relative to its weight plus at most the endpoint count in
/// 65,536 overall (weights 1-10,000 over 100 endpoints stay within 0.2% of their share). With more
/// endpoints than <see cref="MaxPeriod"/>, every endpoint gets one slot and weights are ignored.
/// </para>
/// <para>
/// Building costs O(n + d × period) for d distinct weights: endpoints of equal weight are picked in
/// turn by the nginx steps, so the steps run over weight classes rather than endpoints; equal weights
/// everywhere need no steps at all (the schedule is plain round-robin). Measured: about 40 ms for 100
/// or 1,000 distinct weights that fill the period, 5 ms for 10,000 endpoints in 10 weight classes.
/// </para>
/// <para>
/// A retry (<see cref="PickContext.Attempt"/> &gt; 0) takes the next slot; when that slot's endpoint
/// is the one in the slot before (with one connection at a time, the endpoint that just failed), it
/// returns the next different endpoint in the schedule instead. Under concurrency the slot before may
/// be another connection's, and a repeat is possible.
/// </para>
/// </remarks>
public sealed class WeightedRoundRobinStrategy : IBalancingStrategy
{
    /// <summary>The most slots a precomputed schedule holds; larger weight sums are scaled down to fit.</summary>
    public const int MaxPeriod = 65_536;

    /// <inheritdoc />
    public string Name => BalancingStrategies.WeightedRoundRobin;

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        var array = PickerEndpoints.AsArray(endpoints);
        var schedule = Schedule(Weights(array));
        return array.Length <= ushort.MaxValue + 1
            ? Picker<ushort>.Create(array, schedule)
            : Picker<int>.Create(array, schedule);
    }

    /// <summary>The weights reduced by their GCD and, when their sum exceeds <see cref="MaxPeriod"/>, scaled down to fit it.</summary>
    internal static int[] Weights(ReadOnlySpan<EndpointState> endpoints)
    {
        var weights = new int[endpoints.Length];
        for (var i = 0; i < weights.Length; i++)
        {
            // Weights are validated to 1-10,000; the clamp keeps a zero from stalling the schedule.
            weights[i] = Math.Max(1, endpoints[i].Weight);
        }

        Reduce(weights);
        long total = Sum(weights);
        if (total > MaxPeriod)
        {
            // Scaling to MaxPeriod - n leaves room for rounding every weight below 1 up to 1, so the
            // sum is at most MaxPeriod. Past MaxPeriod endpoints, all that fits is one slot each.
            long budget = Math.Max(0, MaxPeriod - weights.Length);
            for (var i = 0; i < weights.Length; i++)
            {
                weights[i] = (int)Math.Max(1, weights[i] * budget / total);
            }

            Reduce(weights);
        }

        return weights;
    }

    /// <summary>One period of nginx's smooth weighted round-robin over <paramref name="weights"/>: endpoint indices, one per slot.</summary>
    internal static int[] Schedule(int[] weights)
    {
        var period = Sum(weights);
        var schedule = new int[period];
        if (period == weights.Length)
        {
            // All weights 1 (after reduction): nginx's steps visit the endpoints in index order.
            for (var i = 0; i < period; i++)
            {
                schedule[i] = i;
            }

            return schedule;
        }

        // Endpoints of one weight get the same additions, so among them the one picked least often
        // (lowest index on ties) always has the highest current value: they are picked in turn. That
        // lets the steps run over weight classes, each stood for by the member whose turn it is. After
        // t steps an endpoint picked c times holds t * weight - c * period, computed here directly.
        var classes = weights
            .Select((weight, index) => (weight, index))
            .GroupBy(static x => x.weight, static x => x.index)
            .Select(static g => (Weight: g.Key, Members: g.Order().ToArray()))
            .ToArray();
        var turn = new int[classes.Length];
        var rounds = new long[classes.Length];
        for (var t = 1; t <= period; t++)
        {
            var best = -1;
            long bestCurrent = 0;
            var bestIndex = 0;
            for (var k = 0; k < classes.Length; k++)
            {
                var index = classes[k].Members[turn[k]];
                var current = (t * (long)classes[k].Weight) - (rounds[k] * period);
                if (best < 0 || current > bestCurrent || (current == bestCurrent && index < bestIndex))
                {
                    best = k;
                    bestCurrent = current;
                    bestIndex = index;
                }
            }

            schedule[t - 1] = bestIndex;
            if (++turn[best] == classes[best].Members.Length)
            {
                turn[best] = 0;
                rounds[best]++;
            }
        }

        return schedule;
    }

    private static void Reduce(int[] weights)
    {
        var gcd = 0;
        foreach (var weight in weights)
        {
            gcd = (int)BigInteger.GreatestCommonDivisor(gcd, weight);
        }

        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] /= gcd;
        }
    }

    private static int Sum(int[] weights)
    {
        long sum = 0;
        foreach (var weight in weights)
        {
            sum += weight;
        }

        return checked((int)sum);
    }

    /// <summary>Holds the schedule as <typeparamref name="TIndex"/> (ushort up to 65,536 endpoints) to halve its memory.</summary>
    private sealed class Picker<TIndex>(EndpointState[] endpoints, TIndex[] schedule, TIndex[] nextDifferent) : IEndpointPicker
        where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        // The slot taken last; starts at -1 so the first pick after a rebuild takes slot 0. A long,
        // unlike round-robin's int, so the count never wraps: a wrap at 2^32 would jump within the
        // period unless the period divided 2^32.
        private long _cursor = -1;

        public static Picker<TIndex> Create(EndpointState[] endpoints, int[] schedule)
        {
            var period = schedule.Length;
            var slots = new TIndex[period];
            var nextDifferent = new TIndex[period];
            for (var i = 0; i < period; i++)
            {
                slots[i] = TIndex.CreateTruncating(schedule[i]);
            }

            // nextDifferent[s]: the endpoint of the first slot after s (wrapping) that is not s's. Two
            // backward passes over the period: the first settles the wrap for the second. With one
            // endpoint there is no different one and the entries stay 0, that endpoint.
            for (var s = (2 * period) - 2; s >= 0; s--)
            {
                var slot = s % period;
                var next = (s + 1) % period;
                nextDifferent[slot] = schedule[next] != schedule[slot] ? slots[next] : nextDifferent[next];
            }

            return new Picker<TIndex>(endpoints, slots, nextDifferent);
        }

        public EndpointState? Pick(in PickContext context)
        {
            var slot = (int)((ulong)Interlocked.Increment(ref _cursor) % (ulong)schedule.Length);
            var index = schedule[slot];
            if (context.Attempt > 0 && index == schedule[slot == 0 ? schedule.Length - 1 : slot - 1])
            {
                index = nextDifferent[slot];
            }

            return endpoints[int.CreateTruncating(index)];
        }
    }
}
