namespace FastProxy.Balancing;

/// <summary>Compares endpoint loads relative to weight for the load-aware strategies.</summary>
internal static class EndpointLoad
{
    /// <summary>
    /// Compares <c>activeA / weightA</c> with <c>activeB / weightB</c> by cross-multiplying: exact, and no
    /// division on the pick path. Weights are at most 10,000, so the products cannot overflow a long.
    /// </summary>
    public static int Compare(long activeA, int weightA, long activeB, int weightB)
        => (activeA * weightB).CompareTo(activeB * weightA);
}
