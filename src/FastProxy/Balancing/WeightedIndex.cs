using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// Turns a random 64-bit value into an endpoint index with probability proportional to weight: a
/// multiply-shift when all weights are equal, else Walker's alias method (Vose's construction), one
/// slot read and one comparison whatever the endpoint count. Built once per picker; shared by
/// <see cref="RandomStrategy"/> and <see cref="PowerOfTwoChoicesStrategy"/>, and by
/// <see cref="SourceIpHashStrategy"/> for <see cref="Locate"/> (a stable mapping of a hash by cumulative weight).
/// </summary>
internal readonly struct WeightedIndex
{
    // Null when all weights are equal, so the common case needs neither the array nor the search.
    // Otherwise _ends[i] is the sum of the weights 0..i: index i owns [_ends[i - 1], _ends[i]).
    private readonly long[]? _ends;
    private readonly int _count;
    private readonly long _total;

    // The alias table (null when all weights are equal): slot i keeps i when the low 32 bits of the random
    // value are below _keep[i] (a probability scaled to 2^32), else gives _alias[i]. A binary search of
    // the cumulative weights cost 80 ns at 4,096 endpoints, mostly mispredicted branches; this costs a few.
    private readonly ulong[]? _keep;
    private readonly int[]? _alias;

    /// <param name="endpoints">The endpoints, in the picker's order.</param>
    /// <param name="forSampling">Build the alias table <see cref="Sample"/> needs; a picker that only calls <see cref="Locate"/> does without.</param>
    public WeightedIndex(ReadOnlySpan<EndpointState> endpoints, bool forSampling = true)
    {
        _count = endpoints.Length;
        var equal = true;
        foreach (var endpoint in endpoints)
        {
            equal &= endpoint.Weight == endpoints[0].Weight;
        }

        if (equal)
        {
            _total = _count;
            return;
        }

        _ends = new long[_count];
        for (var i = 0; i < _count; i++)
        {
            _total += endpoints[i].Weight;
            _ends[i] = _total;
        }

        if (forSampling)
        {
            (_keep, _alias) = BuildAlias(endpoints, _total);
        }
    }

    /// <summary>An index drawn by weight.</summary>
    public int Sample(ulong random)
    {
        var slot = (int)HashMixing.Reduce(random, (ulong)_count);
        return _keep is null || (uint)random < _keep[slot] ? slot : _alias![slot];
    }

    /// <summary>An index other than <paramref name="excluded"/>, drawn by weight among the rest. Needs at least two endpoints.</summary>
    public int SampleExcept(ulong random, int excluded)
    {
        if (_ends is null)
        {
            // Draw from the n - 1 others and step over the excluded one: one draw, no rejection loop.
            var index = (int)HashMixing.Reduce(random, (ulong)(_count - 1));
            return index >= excluded ? index + 1 : index;
        }

        // With weights: redraw from the alias table while the draw is the excluded index, a few times
        // (each redraw is exact, so the result is drawn by weight among the rest); when the excluded one
        // holds most of the weight that could spin, so then draw from the total minus its range and
        // skip over that range in the cumulative weights.
        for (var retry = 0; retry < 4; retry++)
        {
            var index = Sample(random);
            if (index != excluded)
            {
                return index;
            }

            random = HashMixing.Mix(random + 1);
        }

        var start = excluded == 0 ? 0 : _ends[excluded - 1];
        var width = _ends[excluded] - start;
        var point = (long)HashMixing.Reduce(random, (ulong)(_total - width));
        return Find(_ends, point >= start ? point + width : point);
    }

    /// <summary>
    /// The index whose cumulative-weight range holds <paramref name="hash"/> scaled onto [0, total weight):
    /// the same index for the same hash and endpoint set on every machine, each index taking a share of
    /// hashes in proportion to its weight.
    /// </summary>
    public int Locate(ulong hash)
        => _ends is null ? (int)HashMixing.Reduce(hash, (ulong)_count) : Find(_ends, (long)HashMixing.Reduce(hash, (ulong)_total));

    /// <summary>
    /// Vose's alias construction in exact integer arithmetic: every slot holds weight·n scaled so that a
    /// slot's total is the mean; slots below the mean are topped up from one above it, which becomes its alias.
    /// </summary>
    private static (ulong[] Keep, int[] Alias) BuildAlias(ReadOnlySpan<EndpointState> endpoints, long total)
    {
        var n = endpoints.Length;
        var keep = new ulong[n];
        var alias = new int[n];
        var scaled = new long[n];
        var small = new Stack<int>();
        var large = new Stack<int>();
        for (var i = 0; i < n; i++)
        {
            // weight × n against the total: a slot is "full" at exactly the total.
            scaled[i] = endpoints[i].Weight * (long)n;
            (scaled[i] < total ? small : large).Push(i);
            alias[i] = i;
        }

        while (small.Count > 0 && large.Count > 0)
        {
            var less = small.Pop();
            var more = large.Pop();
            keep[less] = (ulong)(((UInt128)(ulong)scaled[less] << 32) / (ulong)total);
            alias[less] = more;
            scaled[more] -= total - scaled[less];
            (scaled[more] < total ? small : large).Push(more);
        }

        // What is left is full (rounding aside): always keep.
        foreach (var i in large.Concat(small))
        {
            keep[i] = 1UL << 32;
        }

        return (keep, alias);
    }

    /// <summary>The first index whose range end lies beyond <paramref name="point"/>.</summary>
    private static int Find(long[] ends, long point)
    {
        int low = 0, high = ends.Length - 1;
        while (low < high)
        {
            var middle = (int)((uint)(low + high) >> 1);
            if (ends[middle] > point)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        return low;
    }
}
