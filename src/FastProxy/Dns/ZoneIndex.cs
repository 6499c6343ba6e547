using System.Net;
using FastProxy.Catalog;

namespace FastProxy.Dns;

/// <summary>
/// What a query cannot find by a service's name, built once per catalog version on the first query that
/// needs it: the namespaces that have services, and the names each address reverses to (PTR).
/// </summary>
internal sealed class ZoneIndex
{
    private readonly HashSet<string> _namespaces = new(StringComparer.Ordinal);
    private readonly Dictionary<IPAddress, List<string>> _reverse = [];

    public ZoneIndex(CatalogSnapshot snapshot, ClusterZone zone)
    {
        Snapshot = snapshot;
        foreach (var service in snapshot.Services.Values)
        {
            _namespaces.Add(service.Id.Namespace);
            var name = zone.ServiceName(service.Id);
            if (ClusterZone.IsHeadless(service))
            {
                foreach (var (label, address) in ClusterZone.ReadyEndpoints(service))
                {
                    Add(address, DnsRecord.Join(label, name));
                }
            }
            else if (service.ClusterIP is { } clusterIP)
            {
                Add(clusterIP, name);
            }
        }
    }

    /// <summary>The version this index describes.</summary>
    public CatalogSnapshot Snapshot { get; }

    public bool HasNamespace(string name) => _namespaces.Contains(name);

    public IReadOnlyList<string> NamesOf(IPAddress address) => _reverse.TryGetValue(address, out var names) ? names : [];

    private void Add(IPAddress address, string name)
    {
        if (!_reverse.TryGetValue(address, out var names))
        {
            _reverse[address] = names = [];
        }

        if (!names.Contains(name))
        {
            names.Add(name);
        }
    }
}
