namespace FastProxy.Balancing;

/// <summary>
/// The names of the built-in balancing strategies (the values of <see cref="Model.Service.Balancer"/>
/// and of the <c>fastproxy.io/balancer</c> annotation), with the trade-off each makes.
/// docs/balancing.md compares them side by side with measured pick and build costs.
/// </summary>
public static class BalancingStrategies
{
    /// <summary>
    /// <c>round-robin</c>: each new connection goes to the next endpoint in turn. Even spread of
    /// connection counts when connections cost alike; ignores weights, load and flow. The default.
    /// </summary>
    public const string RoundRobin = "round-robin";

    /// <summary>
    /// <c>weighted-round-robin</c>: nginx's smooth weighted round-robin over endpoint weights, so an
    /// endpoint of weight 5 gets 5 of every 6 connections next to one of weight 1, interleaved rather
    /// than in bursts. The schedule is precomputed, so a pick is one counter increment.
    /// </summary>
    public const string WeightedRoundRobin = "weighted-round-robin";

    /// <summary>
    /// <c>random</c>: a uniformly random endpoint, weighted. No shared cursor to contend on; spread is
    /// even only on average.
    /// </summary>
    public const string Random = "random";

    /// <summary>
    /// <c>least-connections</c>: the endpoint with the fewest open connections relative to its weight.
    /// Best for long-lived connections of uneven cost; a pick scans every endpoint (cost grows with the
    /// endpoint count; prefer <see cref="PowerOfTwoChoices"/> beyond a few hundred).
    /// </summary>
    public const string LeastConnections = "least-connections";

    /// <summary>
    /// <c>power-of-two-choices</c>: the less loaded (by open connections relative to weight) of two
    /// random endpoints. Nearly least-connections' spread at constant cost, and no herd onto one
    /// endpoint when counts are stale.
    /// </summary>
    public const string PowerOfTwoChoices = "power-of-two-choices";

    /// <summary>
    /// <c>maglev</c>: Google's Maglev consistent hashing (NSDI 2016) over a lookup table whose size is a
    /// prime (65537 by default). Constant-time pick, near-perfect balance, minimal disruption when an
    /// endpoint leaves; memory and build time grow with the table size.
    /// </summary>
    public const string Maglev = "maglev";

    /// <summary>
    /// <c>ring-hash</c>: consistent hashing on a ring with virtual nodes per endpoint (by weight). Removing
    /// one of N endpoints moves about 1/N of the keys; a pick is a bucket lookup on the ring; balance depends on the
    /// ring size.
    /// </summary>
    public const string RingHash = "ring-hash";

    /// <summary>
    /// <c>source-ip-hash</c>: the client address hashed onto the weighted endpoint list. Sticky without a
    /// table, but most clients move when the endpoint set changes (use <see cref="Maglev"/> or
    /// <see cref="RingHash"/> when that matters).
    /// </summary>
    public const string SourceIpHash = "source-ip-hash";

    /// <summary>
    /// <c>bounded-load</c>: consistent hashing with bounded loads (Mirrokni et al., 2018): the ring-hash
    /// choice unless that endpoint already holds more than c times the mean load (c = 1.25 by default),
    /// then the next endpoint on the ring that does not. Stickiness with a hard cap on imbalance.
    /// </summary>
    public const string BoundedLoad = "bounded-load";
}
