using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, SODA 2018), as HAProxy's
/// <c>hash-balance-factor</c> and Vimeo's implementation apply it: the ring-hash owner of a key, unless
/// that endpoint already holds its share of the load times the load factor; then the next endpoint
/// clockwise that does not.
/// </summary>
/// <remarks>
/// <para>
/// An endpoint's capacity for the next connection is ceil(loadFactor × (L + 1) × weight / total weight),
/// where L is the service port's open connections (one read per pick, so every endpoint is measured
/// against the same total). No endpoint then holds more than its weighted share of the load times the
/// factor (plus one connection of rounding), and keys whose owner has room stay where ring hash puts them.
/// The capacities always add up to more than L + 1, so some endpoint always has room.
/// </para>
/// <para>
/// The ring is <see cref="RingHashStrategy"/>'s (same sizes, same build cost and memory, plus one double
/// per endpoint). A pick is a ring lookup plus a clockwise walk past full endpoints, short while few are
/// full; L counts connections still draining from endpoints that left, which only makes capacities larger.
/// </para>
/// </remarks>
public sealed class BoundedLoadStrategy : IBalancingStrategy
{
    /// <summary>Creates the strategy.</summary>
    /// <param name="loadFactor">
    /// c, the multiple of its weighted share of the load an endpoint may hold: greater than 1 and finite. 1.25
    /// (the paper's and HAProxy's usual choice) caps the busiest endpoint at 125% of its share; smaller
    /// values spread load more evenly and move more keys off their owners.
    /// </param>
    /// <param name="hashKey">What is hashed: the client address (sticky per client) or the whole flow.</param>
    /// <param name="minimumRingSize">The fewest virtual nodes in the ring (see <see cref="RingHashStrategy"/>).</param>
    /// <param name="maximumRingSize">The most virtual nodes in the ring (see <see cref="RingHashStrategy"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">The load factor is not above 1, a ring size is out of range, or the hash key is unknown.</exception>
    public BoundedLoadStrategy(double loadFactor = 1.25, HashKey hashKey = HashKey.ClientAddress, int minimumRingSize = 1024, int maximumRingSize = 1 << 20)
    {
        // A factor of 1 or less leaves no slack: with L + 1 connections to place, the capacities would
        // not add up to more than the load and a pick could find every endpoint full. NaN fails this too.
        if (!(loadFactor > 1) || double.IsInfinity(loadFactor))
        {
            throw new ArgumentOutOfRangeException(nameof(loadFactor), loadFactor, "The load factor must be a finite number greater than 1 (1.25 is usual).");
        }

        RingHashStrategy.ValidateHashKey(hashKey);
        RingHashStrategy.ValidateRingSizes(minimumRingSize, maximumRingSize);
        LoadFactor = loadFactor;
        HashKey = hashKey;
        MinimumRingSize = minimumRingSize;
        MaximumRingSize = maximumRingSize;
    }

    /// <inheritdoc />
    public string Name => BalancingStrategies.BoundedLoad;

    /// <summary>The multiple of its weighted share of the load an endpoint may hold.</summary>
    public double LoadFactor { get; }

    /// <summary>What a pick hashes.</summary>
    public HashKey HashKey { get; }

    /// <summary>The fewest virtual nodes in the ring.</summary>
    public int MinimumRingSize { get; }

    /// <summary>The most virtual nodes in the ring.</summary>
    public int MaximumRingSize { get; }

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        var array = PickerEndpoints.AsArray(endpoints);
        long totalWeight = 0;
        foreach (var endpoint in array)
        {
            // As the ring counts them: a weight below 1 counts as 1.
            totalWeight += Math.Max(1, endpoint.Weight);
        }

        // loadFactor × weight / total weight, once per endpoint here rather than per pick.
        var shares = new double[array.Length];
        for (var i = 0; i < array.Length; i++)
        {
            shares[i] = LoadFactor * Math.Max(1, array[i].Weight) / totalWeight;
        }

        return new Picker(array, shares, HashRing.Build(array, MinimumRingSize, MaximumRingSize), HashKey);
    }

    private sealed class Picker(EndpointState[] endpoints, double[] shares, HashRing ring, HashKey hashKey) : IEndpointPicker
    {
        public EndpointState? Pick(in PickContext context)
        {
            var key = hashKey == HashKey.Flow ? context.FlowHash : context.ClientHash;

            // One read of the port's total: reading it per endpoint could measure each against a different load.
            var load = endpoints[0].Load.ActiveConnections + 1;
            var owner = ring.Walk(key, context.Attempt, new HasRoom(endpoints, shares, load));

            // Only torn reads of racing counters can make every endpoint look full; the plain ring choice
            // is then as good as any.
            return endpoints[owner >= 0 ? owner : ring.Walk(key, context.Attempt, default(AcceptAll))];
        }
    }

    /// <summary>Accepts endpoints with fewer active connections than their capacity for the next one.</summary>
    private readonly struct HasRoom(EndpointState[] endpoints, double[] shares, long load) : IRingFilter
    {
        public bool Accepts(int endpoint) => endpoints[endpoint].ActiveConnections < Math.Ceiling(shares[endpoint] * load);
    }
}
