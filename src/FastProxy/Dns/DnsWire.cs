namespace FastProxy.Dns;

/// <summary>The record types this server reads or writes (RFC 1035, 3596, 2782, 6891).</summary>
internal static class DnsType
{
    public const ushort A = 1;
    public const ushort NS = 2;
    public const ushort CName = 5;
    public const ushort Soa = 6;
    public const ushort Ptr = 12;
    public const ushort Txt = 16;
    public const ushort Aaaa = 28;
    public const ushort Srv = 33;
    public const ushort Opt = 41;
    public const ushort Any = 255;
}

/// <summary>Response codes (RFC 1035 4.1.1; BADVERS from RFC 6891, carried partly in the OPT record).</summary>
internal static class DnsRcode
{
    public const int NoError = 0;
    public const int FormErr = 1;
    public const int ServFail = 2;
    public const int NxDomain = 3;
    public const int NotImp = 4;
    public const int Refused = 5;
    public const int BadVers = 16;
}

/// <summary>Sizes and limits of the wire format.</summary>
internal static class DnsLimits
{
    /// <summary>The header's length.</summary>
    public const int HeaderLength = 12;

    /// <summary>The largest UDP answer to a query without EDNS (RFC 1035 4.2.1).</summary>
    public const int ClassicUdpPayload = 512;

    /// <summary>The largest message TCP's two-byte length prefix can carry.</summary>
    public const int MaxMessage = 65535;

    /// <summary>A name's largest wire length, labels and length bytes included (RFC 1035 3.1).</summary>
    public const int MaxNameLength = 255;

    /// <summary>A label's largest length (RFC 1035 2.3.4).</summary>
    public const int MaxLabelLength = 63;

    /// <summary>The wire size of an OPT record without options: root name, type, class, TTL, RDLENGTH.</summary>
    public const int OptRecordLength = 11;
}
