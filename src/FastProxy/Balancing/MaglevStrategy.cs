using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
/// Balancer", NSDI 2016), weighted as Envoy's maglev load balancer is: each endpoint fills slots of a
/// lookup table in the order of its own permutation, and a pick is one table read.
/// </summary>
/// <remarks>
/// <para>
/// The table is built from the endpoints' <c>address:port</c> strings with stable hashes, so every
/// sidecar holding the same endpoint set builds the same table and sends a client to the same endpoint.
/// When one of N endpoints leaves, its keys move and a few percent of the others do too (the paper's
/// "minimal disruption"); ring hash moves only the keys of the endpoint that left, at a worse balance.
/// </para>
/// <para>
/// The table should be much larger than the endpoint count: the paper keeps it above 100 × N, so that
/// slot shares, which differ by at most one slot per round, stay within about 1% of each other. With
/// more endpoints than table slots the table still fills, but only the first <c>tableSize</c> endpoints
/// (in address order) get a slot; the others receive no new connections until the table grows. A
/// picker is built rather than refused because refusing would leave the whole service without one.
/// </para>
/// <para>
/// Building costs O(M log M) slot probes and O(M log N) for the weighted round order; the table holds M
/// ushort endpoint indices (int beyond 65,535 endpoints): 128 KiB at the default M, whatever N.
/// </para>
/// </remarks>
public sealed class MaglevStrategy : IBalancingStrategy
{
    // The largest prime below 2^24: a 64 MiB int table at most, so a typo cannot ask for gigabytes.
    private const int MaximumTableSize = 16_777_213;

    // Seeds of the two endpoint hashes (the paper's h1 and h2): one stable hash function, two
    // independent-looking outputs.
    internal const ulong OffsetSeed = 0;
    internal const ulong SkipSeed = 0x6D61676C65762D32; // "maglev-2"

    // A retry that lands on the first pick's endpoint walks to the next slots; past this many it takes
    // the neighbouring endpoint instead, so a heavily weighted endpoint cannot make a retry scan the table.
    private const int MaxRetrySteps = 64;

    /// <summary>Creates the strategy.</summary>
    /// <param name="tableSize">
    /// The lookup table size M: a prime (so every endpoint's permutation visits every slot), at least 2
    /// and at most 16,777,213. Keep it above 100 × the endpoint count; 65537 suits up to about 650 endpoints.
    /// </param>
    /// <param name="hashKey">What is hashed: the client address (sticky per client) or the whole flow.</param>
    /// <exception cref="ArgumentOutOfRangeException">The table size is not a prime in range, or the hash key is unknown.</exception>
    public MaglevStrategy(int tableSize = 65537, HashKey hashKey = HashKey.ClientAddress)
    {
        if (tableSize < 2 || tableSize > MaximumTableSize)
        {
            throw new ArgumentOutOfRangeException(nameof(tableSize), tableSize, $"The Maglev table size must be between 2 and {MaximumTableSize}.");
        }

        if (!IsPrime(tableSize))
        {
            throw new ArgumentOutOfRangeException(nameof(tableSize), tableSize, "The Maglev table size must be a prime, so that every endpoint's permutation visits every slot (65537 is a good default).");
        }

        RingHashStrategy.ValidateHashKey(hashKey);
        TableSize = tableSize;
        HashKey = hashKey;
    }

    /// <inheritdoc />
    public string Name => BalancingStrategies.Maglev;

    /// <summary>The lookup table size M (a prime).</summary>
    public int TableSize { get; }

    /// <summary>What a pick hashes.</summary>
    public HashKey HashKey { get; }

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        var array = PickerEndpoints.AsArray(endpoints);
        var table = BuildTable(array, TableSize);
        return new Picker(array, table, HashKey);
    }

    /// <summary>Builds the table of endpoint indices for <paramref name="endpoints"/> from their identities and weights.</summary>
    internal static int[] BuildTable(ReadOnlySpan<EndpointState> endpoints, int tableSize)
    {
        var offsets = new int[endpoints.Length];
        var skips = new int[endpoints.Length];
        var weights = new int[endpoints.Length];
        for (var i = 0; i < endpoints.Length; i++)
        {
            // The endpoint's identity is its address and port, never a pod name or .NET's per-process
            // randomized string hash: sidecars on other machines must derive the same permutation.
            var name = endpoints[i].EndPoint.ToString();
            offsets[i] = (int)(ClientHashing.Hash(name, OffsetSeed) % (ulong)tableSize);
            skips[i] = (int)(ClientHashing.Hash(name, SkipSeed) % (ulong)(tableSize - 1)) + 1;
            // Weights are 1-10000; one below 1 counts as 1 rather than dividing by zero.
            weights[i] = Math.Max(1, endpoints[i].Weight);
        }

        return Populate(offsets, skips, weights, tableSize);
    }

    /// <summary>
    /// The paper's population loop (Pseudocode 1), weighted: endpoint i's permutation is
    /// (offset + j × skip) mod M, and in round r it takes its next free slot only while it has filled
    /// fewer than r × weight / maxWeight slots, so slot shares follow weights.
    /// </summary>
    internal static int[] Populate(ReadOnlySpan<int> offsets, ReadOnlySpan<int> skips, ReadOnlySpan<int> weights, int tableSize)
    {
        var count = offsets.Length;
        var maxWeight = 1;
        foreach (var weight in weights)
        {
            maxWeight = Math.Max(maxWeight, weight);
        }

        var table = new int[tableSize];
        table.AsSpan().Fill(-1);
        var next = new int[count];
        offsets.CopyTo(next);
        var filled = new long[count];

        // The rounds in order, endpoints in index order within a round, as a queue of (round, index): scanning
        // every endpoint every round would cost rounds × N checks, and with one endpoint of weight 10000 among
        // 999 of weight 1 that is about 60 million (160 ms measured) where the queue needs M × log N.
        var queue = new PriorityQueue<int, (long Round, int Index)>(count);
        for (var i = 0; i < count; i++)
        {
            queue.Enqueue(i, (1, i));
        }

        for (var placed = 0; placed < tableSize; placed++)
        {
            queue.TryDequeue(out var i, out var turn);
            var slot = next[i];
            while (table[slot] >= 0)
            {
                slot += skips[i];
                if (slot >= tableSize)
                {
                    slot -= tableSize;
                }
            }

            table[slot] = i;
            filled[i]++;

            // The slot just taken is this endpoint's own; its next candidate is the one after it.
            slot += skips[i];
            next[i] = slot >= tableSize ? slot - tableSize : slot;

            // Its next round is the first in which filled < round × weight / maxWeight holds again (in integers,
            // exact on every machine), and never this one: an endpoint fills at most once a round.
            var nextRound = (filled[i] * maxWeight / weights[i]) + 1;
            queue.Enqueue(i, (Math.Max(turn.Round + 1, nextRound), i));
        }

        return table;
    }

    private static bool IsPrime(int value)
    {
        if (value < 4)
        {
            return value >= 2;
        }

        if (value % 2 == 0)
        {
            return false;
        }

        for (var divisor = 3; divisor <= value / divisor; divisor += 2)
        {
            if (value % divisor == 0)
            {
                return false;
            }
        }

        return true;
    }

    private sealed class Picker : IEndpointPicker
    {
        private readonly EndpointState[] _endpoints;

        // One of the two holds the table: ushort indices halve its size (128 KiB at the default M) and keep
        // more of it in cache; int only for more than 65,535 endpoints.
        private readonly ushort[]? _small;
        private readonly int[]? _large;
        private readonly ulong _tableSize;
        private readonly HashKey _hashKey;

        public Picker(EndpointState[] endpoints, int[] table, HashKey hashKey)
        {
            _endpoints = endpoints;
            _tableSize = (ulong)table.Length;
            _hashKey = hashKey;
            if (endpoints.Length <= ushort.MaxValue)
            {
                _small = new ushort[table.Length];
                for (var i = 0; i < table.Length; i++)
                {
                    _small[i] = (ushort)table[i];
                }
            }
            else
            {
                _large = table;
            }
        }

        public EndpointState? Pick(in PickContext context)
        {
            var key = _hashKey == HashKey.Flow ? context.FlowHash : context.ClientHash;

            // Multiply-shift instead of the paper's key % M: the same even spread for a good hash,
            // without a 64-bit division on the accept path.
            var first = IndexAt(HashMixing.Reduce(key, _tableSize));
            if (context.Attempt == 0 || _endpoints.Length == 1)
            {
                return _endpoints[first];
            }

            // A retry looks up an independent slot (the key re-hashed with the attempt number), so it
            // lands on another endpoint with the table's weighted odds and the same answer on every
            // sidecar. Neighbouring slots hold other endpoints often enough that a few steps suffice.
            var slot = HashMixing.Reduce(HashMixing.ForAttempt(key, context.Attempt), _tableSize);
            for (var step = 0; step < MaxRetrySteps; step++)
            {
                var index = IndexAt(slot);
                if (index != first)
                {
                    return _endpoints[index];
                }

                slot = slot + 1 == _tableSize ? 0 : slot + 1;
            }

            return _endpoints[first + 1 == _endpoints.Length ? 0 : first + 1];
        }

        private int IndexAt(ulong slot) => _small is not null ? _small[(int)slot] : _large![(int)slot];
    }
}
