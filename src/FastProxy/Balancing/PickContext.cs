namespace FastProxy.Balancing;

/// <summary>What a picker may use to choose an endpoint for one new flow. Passed by reference; never allocated.</summary>
public readonly struct PickContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="flowHash">A hash of the client's flow (source address and port); stable for one client flow.</param>
    /// <param name="attempt">0 for the first pick; the forwarder increments it when it retries after a failed connect.</param>
    public PickContext(ulong flowHash, int attempt)
    {
        FlowHash = flowHash;
        Attempt = attempt;
    }

    /// <summary>A hash of the client's flow (source address and port); stable for one client flow.</summary>
    public ulong FlowHash { get; }

    /// <summary>0 for the first pick; the forwarder increments it when it retries after a failed connect.</summary>
    public int Attempt { get; }
}
