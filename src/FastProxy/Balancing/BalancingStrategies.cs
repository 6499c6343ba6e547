namespace FastProxy.Balancing;

/// <summary>The names of the built-in balancing strategies, with the trade-off each makes.</summary>
public static class BalancingStrategies
{
    /// <summary>
    /// Each new connection goes to the next endpoint in turn. Even spread of connection counts when
    /// connections cost alike; no memory of load and no flow affinity. The default.
    /// </summary>
    public static string RoundRobin => nameof(RoundRobin);
}
