namespace FastProxy.Dns;

/// <summary>What a query asks, as <see cref="DnsQueryReader"/> read it from the wire.</summary>
internal sealed class DnsQuery
{
    /// <summary>The message ID, echoed in the response.</summary>
    public ushort Id { get; init; }

    /// <summary>The header's flags word as received (RD and CD are echoed).</summary>
    public ushort Flags { get; init; }

    /// <summary>The question's name in wire form, uncompressed, as the client spelled it (written back verbatim: 0x20-randomised case survives).</summary>
    public required byte[] WireName { get; init; }

    /// <summary>The question's name for lookups: lower case, no trailing dot, empty for the root; bytes other than letters, digits, '-' and '_' escaped as <c>\DDD</c> so that they never match a catalog name.</summary>
    public required string Name { get; init; }

    /// <summary>The question's type.</summary>
    public ushort Type { get; init; }

    /// <summary>The question's class.</summary>
    public ushort Class { get; init; }

    /// <summary>True when the query carried an EDNS OPT record.</summary>
    public bool HasEdns { get; init; }

    /// <summary>The requester's UDP payload size from EDNS; 0 without EDNS.</summary>
    public ushort UdpPayloadSize { get; init; }

    /// <summary>The requester's EDNS version (only 0 is answered; others get BADVERS).</summary>
    public byte EdnsVersion { get; init; }

    /// <summary>True when the client wants recursion (RD), which the forwarder honours and the cluster zone ignores.</summary>
    public bool RecursionDesired => (Flags & 0x0100) != 0;
}

/// <summary>How reading a query ended.</summary>
internal enum DnsReadStatus
{
    /// <summary>A well-formed query with one question.</summary>
    Ok,

    /// <summary>Not worth an answer: shorter than a header, or a response (QR set), which answering could turn into a loop.</summary>
    Drop,

    /// <summary>The header was read but the rest is malformed: answer FORMERR with the header's ID.</summary>
    FormatError,

    /// <summary>An opcode other than QUERY: answer NOTIMP.</summary>
    NotImplemented,
}
