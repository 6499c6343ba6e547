namespace FastProxy.Model;

/// <summary>Which PROXY protocol header (HAProxy's proxy-protocol.txt) the proxy writes to backends before any client data.</summary>
public enum ProxyProtocolVersion
{
    /// <summary>No header: backends see the proxy's address as the client. The default.</summary>
    None = 0,

    /// <summary>The human-readable v1 line, <c>PROXY TCP4 src dst sport dport\r\n</c>.</summary>
    V1 = 1,

    /// <summary>The binary v2 header (12-byte signature, PROXY command, TCP4 or TCP6 addresses).</summary>
    V2 = 2,
}
