using System.Collections.Frozen;
using System.Collections.Immutable;
using FastProxy.Affinity;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// Where one kind of traffic to a service port goes: the endpoints that take its new connections and
/// the picker over them. Traffic to the virtual IP follows <see cref="ServicePortSnapshot.Internal"/>;
/// traffic to node ports, external IPs and load-balancer addresses follows
/// <see cref="ServicePortSnapshot.External"/>. The hot path reads one route per connection.
/// </summary>
public sealed class PortRoute
{
    // Up to this many endpoints a reference scan beats a set lookup.
    private const int ScanLimit = 16;
    private readonly FrozenSet<EndpointState>? _members;

    internal PortRoute(NamespacedName service, ServicePort port, ImmutableArray<EndpointState> endpoints, IEndpointPicker? picker, ServicePortLoad load, SessionAffinityTable? affinity, bool inPanic = false, long panicCount = 0)
    {
        InPanic = inPanic;
        PanicCount = panicCount;
        Service = service;
        ServiceLabel = service.ToString();
        Port = port;
        Endpoints = endpoints;
        Picker = picker;
        Load = load;
        Affinity = affinity;
        if (affinity is not null && endpoints.Length > ScanLimit)
        {
            _members = endpoints.ToFrozenSet<EndpointState>(ReferenceEqualityComparer.Instance);
        }
    }

    /// <summary>The service the port belongs to.</summary>
    public NamespacedName Service { get; }

    /// <summary>The service as metrics and logs name it (<c>namespace/name</c>), made once per route, not per connection.</summary>
    internal string ServiceLabel { get; }

    /// <summary>The port definition.</summary>
    public ServicePort Port { get; }

    /// <summary>
    /// The endpoints new connections go to, sorted by address and port: the ready ones allowed by the
    /// traffic policy and distribution, or, when none is ready, the serving ones that are terminating.
    /// </summary>
    public ImmutableArray<EndpointState> Endpoints { get; }

    /// <summary>The picker over <see cref="Endpoints"/>; null when there is none.</summary>
    public IEndpointPicker? Picker { get; }

    /// <summary>
    /// True when too few of the route's endpoints are healthy (below <see cref="Model.Service.PanicThreshold"/>,
    /// or none): <see cref="Endpoints"/> then holds the unhealthy ones too, rather than none.
    /// </summary>
    public bool InPanic { get; }

    /// <summary>How many times this route (across rebuilds) entered panic.</summary>
    internal long PanicCount { get; }

    /// <summary>Open connections of this port over all its endpoints; carried across rebuilds.</summary>
    internal ServicePortLoad Load { get; }

    /// <summary>The ClientIP affinity table, when the service asks for it; carried across rebuilds while the setting stays.</summary>
    internal SessionAffinityTable? Affinity { get; }

    /// <summary>The service's connection policy (drain, limits, timeouts, PROXY protocol), read once per connection.</summary>
    internal ConnectionPolicy Policy { get; init; } = ConnectionPolicy.Default;

    /// <summary>True when <paramref name="endpoint"/> takes this route's new connections: affinity entries to any other are stale.</summary>
    internal bool Takes(EndpointState endpoint)
    {
        if (_members is not null)
        {
            return _members.Contains(endpoint);
        }

        foreach (var member in Endpoints)
        {
            if (ReferenceEquals(member, endpoint))
            {
                return true;
            }
        }

        return false;
    }
}
