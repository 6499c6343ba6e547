using System.Net;

namespace FastProxy.Balancing;

/// <summary>What a picker may use to choose an endpoint for one new flow. Passed by reference; never allocated.</summary>
/// <remarks>
/// Both hashes are XxHash3 of the address bytes (IPv4-mapped IPv6 addresses count as IPv4), so they are
/// the same in every process and on every machine: sidecars that hold the same snapshot and use a
/// consistent-hash strategy pick the same endpoint for the same flow.
/// </remarks>
public readonly struct PickContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="flowHash">A hash of the client's flow (source address and port).</param>
    /// <param name="clientHash">A hash of the client's address alone.</param>
    /// <param name="attempt">0 for the first pick; the forwarder increments it when it retries after a failed connect.</param>
    public PickContext(ulong flowHash, ulong clientHash, int attempt)
    {
        FlowHash = flowHash;
        ClientHash = clientHash;
        Attempt = attempt;
    }

    /// <summary>A hash of the client's flow (source address and port): the same for one connection, different for the next.</summary>
    public ulong FlowHash { get; }

    /// <summary>A hash of the client's address alone: the same for every connection from one client.</summary>
    public ulong ClientHash { get; }

    /// <summary>0 for the first pick; the forwarder increments it when it retries after a failed connect.</summary>
    public int Attempt { get; }

    /// <summary>Returns the context for a connection from <paramref name="client"/>.</summary>
    /// <param name="client">The client's address and port; anything but an <see cref="IPEndPoint"/> hashes to 0.</param>
    /// <param name="attempt">0 for the first pick.</param>
    public static PickContext ForClient(EndPoint? client, int attempt = 0)
    {
        var (flow, address) = ClientHashing.Hash(client);
        return new PickContext(flow, address, attempt);
    }

    /// <summary>Returns this context for the next connect attempt.</summary>
    internal PickContext NextAttempt() => new(FlowHash, ClientHash, Attempt + 1);
}
