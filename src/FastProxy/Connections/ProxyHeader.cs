using System.Net;

namespace FastProxy.Connections;

/// <summary>
/// What a PROXY protocol header said: the original client and the address it connected to, or nothing
/// (<see cref="Source"/> null) when the connection should keep its own addresses: a LOCAL command (the load
/// balancer's own health check), v1 UNKNOWN, or a family the proxy does not forward (UDP, UNIX, UNSPEC).
/// </summary>
internal readonly record struct ProxyHeader(IPEndPoint? Source, IPEndPoint? Destination, bool IsLocal);

/// <summary>The outcome of parsing the bytes received so far.</summary>
internal enum ProxyHeaderStatus
{
    /// <summary>A header may still follow: read more.</summary>
    Incomplete,

    /// <summary>A whole, valid header.</summary>
    Complete,

    /// <summary>Not a valid header; the connection is refused.</summary>
    Invalid,
}
