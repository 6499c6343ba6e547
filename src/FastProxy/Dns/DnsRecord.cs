using System.Net;

namespace FastProxy.Dns;

/// <summary>
/// One resource record to write. Names are in lookup form (lower case, no trailing dot). Only the
/// fields of its <see cref="Type"/> are set; the factories below keep them consistent.
/// </summary>
internal readonly record struct DnsRecord
{
    private DnsRecord(string name, ushort type, uint ttl)
    {
        Name = name;
        Type = type;
        Ttl = ttl;
    }

    public string Name { get; }

    public ushort Type { get; }

    public uint Ttl { get; }

    /// <summary>A or AAAA: the address.</summary>
    public IPAddress? Address { get; private init; }

    /// <summary>CNAME, PTR, SRV: the name pointed to; SOA: the primary server (MNAME).</summary>
    public string? Target { get; private init; }

    /// <summary>TXT: the one string; SOA: the mailbox (RNAME), a name.</summary>
    public string? Text { get; private init; }

    /// <summary>SRV: port; SOA: unused.</summary>
    public ushort Port { get; private init; }

    /// <summary>SRV: weight.</summary>
    public ushort Weight { get; private init; }

    /// <summary>SOA: serial.</summary>
    public uint Serial { get; private init; }

    public static DnsRecord ForAddress(string name, uint ttl, IPAddress address)
        => new(name, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? DnsType.A : DnsType.Aaaa, ttl) { Address = address };

    public static DnsRecord CName(string name, uint ttl, string target) => new(name, DnsType.CName, ttl) { Target = target };

    public static DnsRecord Ptr(string name, uint ttl, string target) => new(name, DnsType.Ptr, ttl) { Target = target };

    /// <summary>An SRV record of priority 0, as CoreDNS writes them for Kubernetes services.</summary>
    public static DnsRecord Srv(string name, uint ttl, ushort weight, ushort port, string target) => new(name, DnsType.Srv, ttl) { Weight = weight, Port = port, Target = target };

    public static DnsRecord Txt(string name, uint ttl, string text) => new(name, DnsType.Txt, ttl) { Text = text };

    /// <summary>The zone's SOA: <paramref name="ttl"/> is also its minimum, the TTL of negative answers (RFC 2308).</summary>
    public static DnsRecord Soa(string zone, uint ttl, uint serial) => new(zone, DnsType.Soa, ttl)
    {
        Target = Join("ns.dns", zone),
        Text = Join("hostmaster", zone),
        Serial = serial,
    };

    /// <summary>Joins a relative name and its parent.</summary>
    public static string Join(string label, string parent) => parent.Length == 0 ? label : label + "." + parent;
}
