using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Dns;

/// <summary>
/// The cluster domain's records, per the Kubernetes DNS-based service discovery specification 1.1.0,
/// read from one catalog snapshot per question: A/AAAA for a service's ClusterIP, one per ready
/// endpoint of a headless service and per endpoint host name, SRV for named ports, CNAME for
/// ExternalName services, PTR for ClusterIPs and headless endpoints, and <c>dns-version</c>. A name
/// that exists with other types gets NODATA, a name that does not exist NXDOMAIN, both with the SOA.
/// </summary>
internal sealed class ClusterZone
{
    /// <summary>The schema version this zone implements, published at <c>dns-version.&lt;zone&gt;</c>.</summary>
    public const string SchemaVersion = "1.1.0";

    private const string InAddrArpa = "in-addr.arpa";
    private const string Ip6Arpa = "ip6.arpa";

    private readonly string _zone;
    private readonly string _dottedZone;
    private readonly uint _ttl;
    private ZoneIndex? _index;

    /// <param name="domain">The cluster domain, such as <c>cluster.local</c> (validated by the options).</param>
    /// <param name="ttl">The TTL of every record, negative answers included.</param>
    public ClusterZone(string domain, uint ttl)
    {
        _zone = domain.TrimEnd('.').ToLowerInvariant();
        _dottedZone = "." + _zone;
        _ttl = ttl;
    }

    /// <summary>The zone's name in lookup form.</summary>
    public string Domain => _zone;

    /// <summary>Answers a question about the cluster zone or a reverse name this zone holds; null when the name is not this zone's (refuse or forward it).</summary>
    public DnsAnswer? Resolve(DnsQuery query, CatalogSnapshot snapshot)
    {
        var name = query.Name;
        string relative;
        if (string.Equals(name, _zone, StringComparison.Ordinal))
        {
            relative = string.Empty;
        }
        else if (name.EndsWith(_dottedZone, StringComparison.Ordinal))
        {
            relative = name[..^_dottedZone.Length];
        }
        else
        {
            return ResolveReverse(query, snapshot);
        }

        var answer = new DnsAnswer();
        var records = new List<DnsRecord>();
        var glue = new List<DnsRecord>();
        var exists = Find(relative, name, snapshot, records, glue);
        var soa = DnsRecord.Soa(_zone, _ttl, unchecked((uint)snapshot.Version));
        return Select(answer, query, exists, records, glue, soa);
    }

    /// <summary>The service's name in the zone: <c>&lt;service&gt;.&lt;ns&gt;.svc.&lt;zone&gt;</c>.</summary>
    public string ServiceName(NamespacedName id) => $"{id.Name}.{id.Namespace}.svc.{_zone}";

    /// <summary>True for a headless service (no virtual IP, answered with its endpoints).</summary>
    public static bool IsHeadless(ServiceSnapshot service) => service.Service.Headless && service.Service.Type != ServiceType.ExternalName;

    /// <summary>
    /// The ready endpoints of a headless service, each address once, with its DNS label: the endpoint's
    /// host name, or else the spec's "system-assigned identifier", here the address with dashes
    /// (<c>10-1-2-3</c>) as CoreDNS makes it. Ready counts <c>publishNotReadyAddresses</c>.
    /// </summary>
    public static IEnumerable<(string Label, IPAddress Address)> ReadyEndpoints(ServiceSnapshot service)
    {
        var seen = new HashSet<(string, IPAddress)>();
        foreach (var endpoint in service.Ports.SelectMany(p => p.AllEndpoints).Concat(service.PortlessEndpoints))
        {
            if (IsReady(service, endpoint) && seen.Add((Label(endpoint), endpoint.EndPoint.Address)))
            {
                yield return (Label(endpoint), endpoint.EndPoint.Address);
            }
        }
    }

    private static bool IsReady(ServiceSnapshot service, EndpointState endpoint) => endpoint.Conditions.Ready || service.Service.PublishNotReadyAddresses;

    private static string Label(EndpointState endpoint)
        => endpoint.Hostname?.ToLowerInvariant() ?? endpoint.EndPoint.Address.ToString().Replace('.', '-').Replace(':', '-');

    /// <summary>Fills the records at a name of the zone; false when the name does not exist.</summary>
    private bool Find(string relative, string name, CatalogSnapshot snapshot, List<DnsRecord> records, List<DnsRecord> glue)
    {
        if (relative.Length == 0)
        {
            records.Add(DnsRecord.Soa(_zone, _ttl, unchecked((uint)snapshot.Version)));
            return true;
        }

        if (string.Equals(relative, "dns-version", StringComparison.Ordinal))
        {
            records.Add(DnsRecord.Txt(name, _ttl, SchemaVersion));
            return true;
        }

        var labels = relative.Split('.');
        if (labels.Length > 5 || !string.Equals(labels[^1], "svc", StringComparison.Ordinal))
        {
            return false;
        }

        switch (labels.Length)
        {
            case 1:
                return true;   // svc.<zone>: an empty non-terminal
            case 2:
                return Index(snapshot).HasNamespace(labels[0]);
        }

        if (!snapshot.TryGetService(new NamespacedName(labels[^2], labels[^3]), out var service))
        {
            return false;
        }

        var serviceName = ServiceName(service.Id);
        switch (labels.Length)
        {
            case 3:
                ServiceRecords(service, name, records);
                return true;
            case 4 when labels[0].StartsWith('_'):
                // _<proto>.<service>...: exists (no records) when a named port of that protocol does.
                return service.Ports.Any(p => p.Port.Name.Length > 0 && IsProtocol(labels[0], p.Port.Protocol));
            case 4:
                return IsHeadless(service) && EndpointRecords(service, labels[0], name, records);
            default:
                return labels[0].StartsWith('_') && PortRecords(service, serviceName, labels[0][1..], labels[1], name, records, glue);
        }
    }

    private void ServiceRecords(ServiceSnapshot service, string name, List<DnsRecord> records)
    {
        if (service.Service.Type == ServiceType.ExternalName)
        {
            if (service.Service.ExternalName is { Length: > 0 } external)
            {
                records.Add(DnsRecord.CName(name, _ttl, external.TrimEnd('.').ToLowerInvariant()));
            }
        }
        else if (IsHeadless(service))
        {
            foreach (var address in ReadyEndpoints(service).Select(e => e.Address).Distinct())
            {
                records.Add(DnsRecord.ForAddress(name, _ttl, address));
            }
        }
        else if (service.ClusterIP is { } clusterIP)
        {
            records.Add(DnsRecord.ForAddress(name, _ttl, clusterIP));
        }
    }

    private bool EndpointRecords(ServiceSnapshot service, string label, string name, List<DnsRecord> records)
    {
        foreach (var endpoint in ReadyEndpoints(service))
        {
            if (string.Equals(endpoint.Label, label, StringComparison.Ordinal))
            {
                records.Add(DnsRecord.ForAddress(name, _ttl, endpoint.Address));
            }
        }

        return records.Count > 0;
    }

    /// <summary><c>_&lt;port&gt;._&lt;proto&gt;.&lt;service&gt;...</c>: SRV for a named port; false when the service has no such port.</summary>
    private bool PortRecords(ServiceSnapshot service, string serviceName, string portName, string protocol, string name, List<DnsRecord> records, List<DnsRecord> glue)
    {
        var port = service.Ports.FirstOrDefault(p => p.Port.Name.Length > 0
            && string.Equals(p.Port.Name, portName, StringComparison.OrdinalIgnoreCase)
            && IsProtocol(protocol, p.Port.Protocol));
        if (port is null)
        {
            return false;
        }

        if (!IsHeadless(service))
        {
            if (service.ClusterIP is { } clusterIP)
            {
                records.Add(DnsRecord.Srv(name, _ttl, 100, (ushort)port.Port.Port, serviceName));
                glue.Add(DnsRecord.ForAddress(serviceName, _ttl, clusterIP));
            }

            return true;
        }

        // One SRV per ready endpoint of this port, at its own port number, targeting its own name; the
        // weights share 100 as CoreDNS shares them.
        var targets = port.AllEndpoints
            .Where(e => IsReady(service, e))
            .Select(e => (Target: DnsRecord.Join(Label(e), serviceName), e.EndPoint))
            .Distinct()
            .ToList();
        var weight = (ushort)Math.Max(1, 100 / Math.Max(1, targets.Count));
        foreach (var (target, endPoint) in targets)
        {
            records.Add(DnsRecord.Srv(name, _ttl, weight, (ushort)endPoint.Port, target));
            glue.Add(DnsRecord.ForAddress(target, _ttl, endPoint.Address));
        }

        return true;
    }

    private static bool IsProtocol(string label, ServiceProtocol protocol)
        => string.Equals(label, protocol == ServiceProtocol.Udp ? "_udp" : "_tcp", StringComparison.Ordinal);

    /// <summary>PTR for a ClusterIP or a headless endpoint; null (not ours) for every other address and name.</summary>
    private DnsAnswer? ResolveReverse(DnsQuery query, CatalogSnapshot snapshot)
    {
        if (!TryParseReverse(query.Name, out var address, out var reverseZone))
        {
            return null;
        }

        var names = Index(snapshot).NamesOf(address);
        if (names.Count == 0)
        {
            return null;
        }

        var records = names.Select(n => DnsRecord.Ptr(query.Name, _ttl, n)).ToList();
        return Select(new DnsAnswer(), query, exists: true, records, [], DnsRecord.Soa(reverseZone, _ttl, unchecked((uint)snapshot.Version)));
    }

    /// <summary>Turns the found records into the answer to the question's type: the records of that type, a CNAME for any type, NODATA or NXDOMAIN.</summary>
    private static DnsAnswer Select(DnsAnswer answer, DnsQuery query, bool exists, List<DnsRecord> records, List<DnsRecord> glue, DnsRecord soa)
    {
        if (!exists)
        {
            answer.Rcode = DnsRcode.NxDomain;
            answer.Authority.Add(soa);
            return answer;
        }

        foreach (var record in records)
        {
            if (query.Type == DnsType.Any || record.Type == query.Type || record.Type == DnsType.CName)
            {
                answer.Answers.Add(record);
            }
        }

        if (answer.Answers.Count == 0)
        {
            answer.Authority.Add(soa);
        }
        else if (answer.Answers.Exists(r => r.Type == DnsType.Srv))
        {
            answer.Additional.AddRange(glue);
        }

        return answer;
    }

    private static bool TryParseReverse(string name, out IPAddress address, out string zone)
    {
        address = IPAddress.None;
        zone = string.Empty;
        if (name.EndsWith("." + InAddrArpa, StringComparison.Ordinal))
        {
            zone = InAddrArpa;
            var labels = name[..^(InAddrArpa.Length + 1)].Split('.');
            Span<byte> bytes = stackalloc byte[4];
            if (labels.Length != 4)
            {
                return false;
            }

            for (var i = 0; i < 4; i++)
            {
                if (labels[i].Length is 0 or > 3 || !byte.TryParse(labels[i], NumberStyles.None, CultureInfo.InvariantCulture, out bytes[3 - i]))
                {
                    return false;
                }
            }

            address = new IPAddress(bytes);
            return true;
        }

        if (name.EndsWith("." + Ip6Arpa, StringComparison.Ordinal))
        {
            zone = Ip6Arpa;
            var labels = name[..^(Ip6Arpa.Length + 1)].Split('.');
            Span<byte> bytes = stackalloc byte[16];
            bytes.Clear();   // the module skips locals init, and the nibbles are OR-ed in
            if (labels.Length != 32)
            {
                return false;
            }

            for (var i = 0; i < 32; i++)
            {
                if (labels[i].Length != 1 || !byte.TryParse(labels[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var nibble))
                {
                    return false;
                }

                // Labels run from the lowest nibble to the highest.
                var index = 31 - i;
                bytes[index / 2] |= (byte)(index % 2 == 0 ? nibble << 4 : nibble);
            }

            address = new IPAddress(bytes);
            return address.AddressFamily == AddressFamily.InterNetworkV6;
        }

        return false;
    }

    /// <summary>The index of <paramref name="snapshot"/>: the cached one, or a new one when the catalog moved on (whoever builds it first publishes it; no lock).</summary>
    private ZoneIndex Index(CatalogSnapshot snapshot)
    {
        var index = Volatile.Read(ref _index);
        if (index is null || !ReferenceEquals(index.Snapshot, snapshot))
        {
            index = new ZoneIndex(snapshot, this);
            Volatile.Write(ref _index, index);
        }

        return index;
    }
}
