using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// Consistent hashing on a ring (Karger et al., 1997) with virtual nodes per endpoint in proportion to its
/// weight, built as Envoy's ring_hash load balancer builds it: node hashes of <c>"address:port_k"</c>, and a
/// key goes to the first node clockwise from its hash.
/// </summary>
/// <remarks>
/// <para>
/// When an endpoint leaves, only the keys it owned move (to the next endpoint clockwise); every other key
/// stays, on every sidecar, because node hashes depend only on endpoint addresses. Balance depends on the
/// nodes per endpoint: about ±10% (one standard deviation) at the 100 per endpoint this strategy aims for.
/// </para>
/// <para>
/// Ring size: 100 nodes for the lightest endpoint and proportionally more for heavier ones (100 × N for equal
/// weights), times the smallest whole number that reaches minimumRingSize (so 10 equal endpoints get 200 nodes
/// each, 2000 in all); or maximumRingSize nodes split by weight when that is smaller. The whole multiple keeps an
/// endpoint's nodes when others join or leave, so only the keys of the endpoint that left move. Building hashes
/// and sorts the nodes, O(R log R) for R nodes; the ring holds 16 bytes per node (hash, owner, next other owner:
/// 1.6 MB for 1,000 equal endpoints) plus a bucket index on the top bits of the hash (4 bytes per two nodes, at
/// most 1 MiB). A pick reads its bucket and searches the two or so nodes in it; a retry then steps over runs
/// of nodes, one endpoint per step.
/// </para>
/// </remarks>
public sealed class RingHashStrategy : IBalancingStrategy
{
    // Envoy's ceiling, 8M nodes (128 MiB at 16 bytes a node): more than any ring should need.
    private const int RingSizeCeiling = 1 << 23;

    /// <summary>Creates the strategy.</summary>
    /// <param name="minimumRingSize">The fewest virtual nodes in the ring, 1 to 8,388,608 (Envoy's default 1024 keeps small sets balanced); reached in whole multiples of 100 nodes per endpoint, so the ring may hold up to about twice as many.</param>
    /// <param name="maximumRingSize">The most virtual nodes in the ring (each endpoint keeps at least one), from <paramref name="minimumRingSize"/> to 8,388,608.</param>
    /// <param name="hashKey">What is hashed: the client address (sticky per client) or the whole flow.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range, or the hash key is unknown.</exception>
    public RingHashStrategy(int minimumRingSize = 1024, int maximumRingSize = 1 << 20, HashKey hashKey = HashKey.ClientAddress)
    {
        ValidateRingSizes(minimumRingSize, maximumRingSize);
        ValidateHashKey(hashKey);
        MinimumRingSize = minimumRingSize;
        MaximumRingSize = maximumRingSize;
        HashKey = hashKey;
    }

    /// <inheritdoc />
    public string Name => BalancingStrategies.RingHash;

    /// <summary>The fewest virtual nodes in the ring.</summary>
    public int MinimumRingSize { get; }

    /// <summary>The most virtual nodes in the ring.</summary>
    public int MaximumRingSize { get; }

    /// <summary>What a pick hashes.</summary>
    public HashKey HashKey { get; }

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        var array = PickerEndpoints.AsArray(endpoints);
        return new Picker(array, HashRing.Build(array, MinimumRingSize, MaximumRingSize), HashKey);
    }

    /// <summary>Validates ring bounds for this strategy and <see cref="BoundedLoadStrategy"/>.</summary>
    internal static void ValidateRingSizes(int minimumRingSize, int maximumRingSize)
    {
        if (minimumRingSize < 1 || minimumRingSize > RingSizeCeiling)
        {
            throw new ArgumentOutOfRangeException(nameof(minimumRingSize), minimumRingSize, $"The minimum ring size must be between 1 and {RingSizeCeiling}.");
        }

        if (maximumRingSize < minimumRingSize || maximumRingSize > RingSizeCeiling)
        {
            throw new ArgumentOutOfRangeException(nameof(maximumRingSize), maximumRingSize, $"The maximum ring size must be at least the minimum ring size ({minimumRingSize}) and at most {RingSizeCeiling}.");
        }
    }

    /// <summary>Validates a hash key for the hashing strategies.</summary>
    internal static void ValidateHashKey(HashKey hashKey)
    {
        if (hashKey is not (HashKey.ClientAddress or HashKey.Flow))
        {
            throw new ArgumentOutOfRangeException(nameof(hashKey), hashKey, "The hash key must be ClientAddress or Flow.");
        }
    }

    private sealed class Picker(EndpointState[] endpoints, HashRing ring, HashKey hashKey) : IEndpointPicker
    {
        public EndpointState? Pick(in PickContext context)
        {
            var key = hashKey == HashKey.Flow ? context.FlowHash : context.ClientHash;

            // Attempt k skips the first k distinct endpoints clockwise: where the key would go if those
            // had left the ring, which is also where another sidecar's retry goes.
            return endpoints[ring.Walk(key, context.Attempt, default(AcceptAll))];
        }
    }
}
