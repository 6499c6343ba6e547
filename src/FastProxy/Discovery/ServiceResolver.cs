using System.Collections.Frozen;
using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Discovery;

/// <summary>
/// Finds the service a host names, the way a pod's resolver would find it through cluster DNS and its
/// search path: <c>svc</c> (in the default namespace), <c>svc.ns</c>, <c>svc.ns.svc</c> and
/// <c>svc.ns.svc.CLUSTER-DOMAIN</c>, with or without a trailing dot, in any case; and a service's
/// virtual IP written as an address (what the environment variables hand out).
/// </summary>
internal sealed class ServiceResolver
{
    private readonly string _defaultNamespace;
    private readonly string _clusterDomain;

    // Virtual IP → service, built once per catalog version, on the first connect to an address.
    private ClusterIPIndex? _byClusterIP;

    public ServiceResolver(string defaultNamespace, string clusterDomain)
    {
        _defaultNamespace = defaultNamespace;
        _clusterDomain = clusterDomain.Trim('.').ToLowerInvariant();
    }

    /// <summary>The service <paramref name="host"/> names in <paramref name="snapshot"/>; null when it names none.</summary>
    public ServiceSnapshot? Find(CatalogSnapshot snapshot, string host)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return ByClusterIP(snapshot).GetValueOrDefault(address);
        }

        return TryParse(host, out var id) && snapshot.TryGetService(id, out var service) ? service : null;
    }

    /// <summary>The service identity a DNS name stands for; false for a name of any other shape.</summary>
    internal bool TryParse(string host, out NamespacedName id)
    {
        id = default;
        var labels = host.TrimEnd('.').ToLowerInvariant().Split('.');
        if (labels.Any(static label => label.Length == 0))
        {
            return false;
        }

        var shaped = labels.Length switch
        {
            1 => true,
            2 => true,
            3 => labels[2] == "svc",
            _ => labels[2] == "svc" && string.Join('.', labels[3..]) == _clusterDomain,
        };
        if (shaped)
        {
            id = new NamespacedName(labels.Length == 1 ? _defaultNamespace : labels[1], labels[0]);
        }

        return shaped;
    }

    private FrozenDictionary<IPAddress, ServiceSnapshot> ByClusterIP(CatalogSnapshot snapshot)
    {
        var cached = Volatile.Read(ref _byClusterIP);
        if (cached is not null && ReferenceEquals(cached.Snapshot, snapshot))
        {
            return cached.Services;
        }

        var services = snapshot.Services.Values
            .Where(static s => s.ClusterIP is not null)
            .DistinctBy(static s => s.ClusterIP)
            .ToFrozenDictionary(static s => s.ClusterIP!, static s => s);
        Volatile.Write(ref _byClusterIP, new ClusterIPIndex(snapshot, services));
        return services;
    }

    private sealed record ClusterIPIndex(CatalogSnapshot Snapshot, FrozenDictionary<IPAddress, ServiceSnapshot> Services);
}
