using System.Globalization;
using System.IO.Hashing;
using System.Numerics;
using System.Runtime.InteropServices;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// A consistent-hash ring with virtual nodes per endpoint, as Envoy's ring_hash builds it: shared by
/// <see cref="RingHashStrategy"/> (the owner of a key) and <see cref="BoundedLoadStrategy"/> (the first
/// owner clockwise with room). Immutable once built; lookups are lock-free and allocation-free.
/// </summary>
internal sealed class HashRing
{
    /// <summary>Virtual nodes the lightest endpoint gets, at least, unless the maximum size forbids: about ±10% balance (1/√100).</summary>
    internal const int NodesPerLightestEndpoint = 100;

    /// <summary>
    /// At most this many endpoints are skipped on a retry: the skipped ones are remembered on the stack. The
    /// forwarder makes fewer attempts than there are endpoints, and far fewer than this.
    /// </summary>
    internal const int MaxSkipped = 64;

    // Sorted node hashes, and the endpoint index each node belongs to at the same position.
    private readonly ulong[] _hashes;
    private readonly int[] _owners;

    // For each node, the position of the next node clockwise with another owner. A walk skips a whole run of
    // one endpoint's nodes in one step: next to an endpoint of weight 10000, one of weight 1 may be ten
    // thousand nodes away, and a retry must not step through all of them on the accept path.
    private readonly int[] _nextOther;

    // A lookup index over the sorted hashes: _bucketStarts[b] is the first position whose hash has b as
    // its top _bucketBits bits. A lookup binary-searches only its bucket (about two nodes) instead of the
    // whole ring: 19 dependent cache misses at 400,000 nodes become about two.
    private readonly int[] _bucketStarts;
    private readonly int _bucketShift;

    private HashRing(ulong[] hashes, int[] owners, int endpointCount)
    {
        _hashes = hashes;
        _owners = owners;
        EndpointCount = endpointCount;
        _nextOther = NextOther(owners, endpointCount);
        (_bucketStarts, _bucketShift) = BucketStarts(hashes);
    }

    /// <summary>The number of virtual nodes.</summary>
    public int Count => _hashes.Length;

    /// <summary>The number of endpoints the ring was built from (each has at least one node).</summary>
    public int EndpointCount { get; }

    /// <summary>The endpoint index of node <paramref name="position"/>.</summary>
    public int OwnerAt(int position) => _owners[position];

    /// <summary>The hash of node <paramref name="position"/>.</summary>
    public ulong HashAt(int position) => _hashes[position];

    /// <summary>
    /// Builds the ring: <see cref="NodesPerLightestEndpoint"/> nodes for the lightest endpoint, in proportion to
    /// weight for the others (100 × N for equal weights), times the smallest whole multiple that makes at least
    /// <paramref name="minimumSize"/> nodes; or, when that would exceed <paramref name="maximumSize"/>, that many
    /// nodes split by weight. Every endpoint gets at least one node.
    /// </summary>
    /// <remarks>
    /// The whole multiple is what keeps ring hash's promise below the minimum size: scaling 100 × N up to exactly
    /// the minimum would give each endpoint more nodes whenever another leaves (1024 / 9 instead of 1024 / 10),
    /// and those new nodes would take keys from endpoints that stayed (8.7% of them, measured, for 10 → 9). With
    /// a multiple, 10 and 9 endpoints both get 200 nodes each, and the multiple changes only at a few small N.
    /// </remarks>
    public static HashRing Build(ReadOnlySpan<EndpointState> endpoints, int minimumSize, int maximumSize)
    {
        long totalWeight = 0;
        long minWeight = long.MaxValue;
        foreach (var endpoint in endpoints)
        {
            // Weights are 1-10000; one below 1 counts as 1 rather than dividing by zero.
            totalWeight += Math.Max(1, endpoint.Weight);
            minWeight = Math.Min(minWeight, Math.Max(1, endpoint.Weight));
        }

        // Nodes per unit of weight as the fraction perWeight / unit, in integers so that every machine computes
        // the same counts. The ring then holds about perWeight × totalWeight / unit nodes.
        var hundredTotal = NodesPerLightestEndpoint * totalWeight;
        var multiple = Math.Max(1, ((minimumSize * minWeight) + hundredTotal - 1) / hundredTotal);
        long perWeight = NodesPerLightestEndpoint * multiple, unit = minWeight;
        if (hundredTotal * multiple > maximumSize * minWeight)
        {
            perWeight = maximumSize;
            unit = totalWeight;
        }

        // Each endpoint's count depends on its own weight and the fraction only, not on the other endpoints' order.
        // A light endpoint squeezed by the maximum still gets one node, or it would never be picked.
        var counts = new int[endpoints.Length];
        var total = 0;
        for (var i = 0; i < endpoints.Length; i++)
        {
            counts[i] = (int)Math.Max(1, ((perWeight * Math.Max(1, endpoints[i].Weight)) + (unit / 2)) / unit);
            total += counts[i];
        }

        var hashes = new ulong[total];
        var owners = new int[total];
        var node = 0;
        for (var i = 0; i < endpoints.Length; i++)
        {
            var name = endpoints[i].EndPoint.ToString();
            for (var k = 0; k < counts[i]; k++)
            {
                hashes[node] = NodeHash(name, k);
                owners[node] = i;
                node++;
            }
        }

        Array.Sort(hashes, owners);
        BreakTies(hashes, owners);
        return new HashRing(hashes, owners, endpoints.Length);
    }

    /// <summary>
    /// The hash of virtual node <paramref name="k"/> of endpoint <paramref name="name"/> (its <c>address:port</c>):
    /// <see cref="ClientHashing.Hash(string, ulong)"/> of <c>"address:port_k"</c>, Envoy's key format, formatted
    /// on the stack so a ring of a million nodes does not build a million strings.
    /// </summary>
    internal static ulong NodeHash(string name, int k)
    {
        Span<char> key = stackalloc char[name.Length + 12];
        name.CopyTo(key);
        key[name.Length] = '_';
        k.TryFormat(key[(name.Length + 1)..], out var written, default, CultureInfo.InvariantCulture);
        return XxHash3.HashToUInt64(MemoryMarshal.AsBytes(key[..(name.Length + 1 + written)]));
    }

    /// <summary>The position of the first node whose hash is at least <paramref name="key"/>, wrapping past the last node to the first.</summary>
    public int Position(ulong key)
    {
        var hashes = _hashes;
        var bucket = (int)(key >> _bucketShift);
        int low = _bucketStarts[bucket], high = _bucketStarts[bucket + 1];
        while (low < high)
        {
            var middle = (int)((uint)(low + high) >> 1);
            if (hashes[middle] < key)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low == hashes.Length ? 0 : low;
    }

    /// <summary>
    /// Walks clockwise from <paramref name="key"/>'s position, skips the first <paramref name="skip"/> distinct
    /// endpoints (where the key would go if those were gone), and returns the first later endpoint that
    /// <paramref name="filter"/> accepts, or -1 when it accepts none.
    /// </summary>
    /// <remarks>
    /// <paramref name="skip"/> is taken modulo the endpoint count (and <see cref="MaxSkipped"/> + 1), so every
    /// attempt number has an answer. A struct filter is inlined: no delegate, no allocation.
    /// </remarks>
    public int Walk<TFilter>(ulong key, int skip, in TFilter filter)
        where TFilter : struct, IRingFilter
    {
        var owners = _owners;
        var position = Position(key);
        skip = skip <= 0 ? 0 : skip % Math.Min(EndpointCount, MaxSkipped + 1);
        if (skip == 0 && filter.Accepts(owners[position]))
        {
            // The common case: the key's owner.
            return owners[position];
        }

        if (EndpointCount == 1)
        {
            return -1;
        }

        Span<int> skipped = skip == 0 ? default : stackalloc int[skip];
        var skippedCount = 0;
        var nextOther = _nextOther;

        // Run by run (each run one endpoint's consecutive nodes) for one lap, which visits every endpoint: enough
        // both to skip fewer than all of them and to find any endpoint the filter accepts.
        for (var covered = 0; covered < owners.Length;)
        {
            var owner = owners[position];
            if (!skipped[..skippedCount].Contains(owner))
            {
                if (skippedCount < skip)
                {
                    skipped[skippedCount++] = owner;
                }
                else if (filter.Accepts(owner))
                {
                    return owner;
                }
            }

            var following = nextOther[position];
            covered += following > position ? following - position : following + owners.Length - position;
            position = following;
        }

        return -1;
    }

    // Built backwards from the start of some run, so each node's successor is already filled in when it is
    // reached: it is either the successor itself (another owner) or the successor's own answer. With one
    // endpoint there is no other owner, and Walk never reads the array.
    /// <summary>One bucket per two nodes or so (a power of two, 16 to 2^18), each holding the position its hashes start at.</summary>
    private static (int[] Starts, int Shift) BucketStarts(ulong[] hashes)
    {
        var bits = Math.Clamp(BitOperations.Log2((uint)Math.Max(hashes.Length, 1)), 4, 18);
        var shift = 64 - bits;
        var starts = new int[(1 << bits) + 1];
        var position = 0;
        for (var bucket = 0; bucket < starts.Length - 1; bucket++)
        {
            starts[bucket] = position;
            while (position < hashes.Length && (int)(hashes[position] >> shift) == bucket)
            {
                position++;
            }
        }

        starts[^1] = hashes.Length;
        return (starts, shift);
    }

    private static int[] NextOther(int[] owners, int endpointCount)
    {
        var next = new int[owners.Length];
        if (endpointCount == 1)
        {
            return next;
        }

        var start = 1;
        while (owners[start] == owners[start - 1])
        {
            start++;
        }

        for (var i = 0; i < owners.Length; i++)
        {
            var position = (start - 1 - i + owners.Length) % owners.Length;
            var successor = position + 1 == owners.Length ? 0 : position + 1;
            next[position] = owners[successor] != owners[position] ? successor : next[successor];
        }

        return next;
    }

    // Equal node hashes (about one in 2^64 / nodes² odds) are ordered by endpoint index, so the ring does not
    // depend on how the sort happened to order them.
    private static void BreakTies(ulong[] hashes, int[] owners)
    {
        var start = 0;
        for (var i = 1; i <= hashes.Length; i++)
        {
            if (i == hashes.Length || hashes[i] != hashes[start])
            {
                if (i - start > 1)
                {
                    Array.Sort(owners, start, i - start);
                }

                start = i;
            }
        }
    }
}

/// <summary>Which endpoints a <see cref="HashRing.Walk{TFilter}"/> may return.</summary>
internal interface IRingFilter
{
    /// <summary>Whether the endpoint at index <paramref name="endpoint"/> may be returned.</summary>
    bool Accepts(int endpoint);
}

/// <summary>Accepts every endpoint: the plain ring owner.</summary>
internal readonly struct AcceptAll : IRingFilter
{
    public bool Accepts(int endpoint) => true;
}
