namespace FastProxy.Balancing;

/// <summary>What a hashing strategy hashes to choose an endpoint.</summary>
public enum HashKey
{
    /// <summary>The client's address alone: every connection from one client goes to the same endpoint while the endpoint set allows.</summary>
    ClientAddress = 0,

    /// <summary>The client's address and port: one flow is pinned, the connections of one client spread out.</summary>
    Flow = 1,
}
