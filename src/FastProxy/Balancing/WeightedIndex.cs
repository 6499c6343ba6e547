using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// Turns a random 64-bit value into an endpoint index with probability proportional to weight: a
/// multiply-shift when all weights are equal, else a binary search of the cumulative weights.
/// Built once per picker; shared by <see cref="RandomStrategy"/> and <see cref="PowerOfTwoChoicesStrategy"/>.
/// </summary>
internal readonly struct WeightedIndex
{
    // Null when all weights are equal, so the common case needs neither the array nor the search.
    // Otherwise _ends[i] is the sum of the weights 0..i: index i owns [_ends[i - 1], _ends[i]).
    private readonly long[]? _ends;
    private readonly int _count;
    private readonly long _total;

    public WeightedIndex(ReadOnlySpan<EndpointState> endpoints)
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
    }

    /// <summary>An index drawn by weight.</summary>
    public int Sample(ulong random)
        => _ends is null ? (int)SplitMix64.Below(random, _count) : Find(_ends, SplitMix64.Below(random, _total));

    /// <summary>An index other than <paramref name="excluded"/>, drawn by weight among the rest. Needs at least two endpoints.</summary>
    public int SampleExcept(ulong random, int excluded)
    {
        if (_ends is null)
        {
            // Draw from the n - 1 others and step over the excluded one: one draw, no rejection loop.
            var index = (int)SplitMix64.Below(random, _count - 1);
            return index >= excluded ? index + 1 : index;
        }

        // The same with weights: draw from the total minus the excluded range, then skip over that
        // range. A rejection loop would spin for long when the excluded endpoint holds most weight.
        var start = excluded == 0 ? 0 : _ends[excluded - 1];
        var width = _ends[excluded] - start;
        var point = SplitMix64.Below(random, _total - width);
        return Find(_ends, point >= start ? point + width : point);
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
