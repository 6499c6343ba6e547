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
            var chosen = -1;
            if (context.Attempt <= HasRoom.MaxExcluded)
            {
                // Attempt k repeats the choices of attempts 0..k-1 (the failed connects have been taken off
                // the counts again, so the loads are those they saw) and excludes each in turn: a retry gets
                // the next endpoint with room, not the one that just failed when the owner was full.
                var filter = new HasRoom(endpoints, shares, load);
                for (var attempt = 0; attempt <= context.Attempt; attempt++)
                {
                    var next = ring.Walk(key, 0, filter);
                    if (next < 0)
                    {
                        break;
                    }

                    chosen = next;
                    filter = filter.Excluding(next);
                }
            }

            // Only torn reads of racing counters can make every endpoint look full (and attempts beyond the
            // exclusions are rare): the plain ring order is then as good as any.
            return endpoints[chosen >= 0 ? chosen : ring.Walk(key, context.Attempt, default(AcceptAll))];
        }
    }

    /// <summary>Accepts endpoints with fewer active connections than their capacity for the next one, except up to four excluded ones.</summary>
    private readonly struct HasRoom : IRingFilter
    {
        public const int MaxExcluded = 4;

        private readonly EndpointState[] _endpoints;
        private readonly double[] _shares;
        private readonly long _load;
        private readonly int _excluded0;
        private readonly int _excluded1;
        private readonly int _excluded2;
        private readonly int _excluded3;

        public HasRoom(EndpointState[] endpoints, double[] shares, long load)
            : this(endpoints, shares, load, -1, -1, -1, -1)
        {
        }

        private HasRoom(EndpointState[] endpoints, double[] shares, long load, int excluded0, int excluded1, int excluded2, int excluded3)
        {
            _endpoints = endpoints;
            _shares = shares;
            _load = load;
            (_excluded0, _excluded1, _excluded2, _excluded3) = (excluded0, excluded1, excluded2, excluded3);
        }

        /// <summary>This filter, also refusing <paramref name="endpoint"/> (the oldest exclusion gives way after four).</summary>
        public HasRoom Excluding(int endpoint) => new(_endpoints, _shares, _load, endpoint, _excluded0, _excluded1, _excluded2);

        public bool Accepts(int endpoint)
            => endpoint != _excluded0 && endpoint != _excluded1 && endpoint != _excluded2 && endpoint != _excluded3
                && _endpoints[endpoint].ActiveConnections < Math.Ceiling(_shares[endpoint] * _load);
    }
}
