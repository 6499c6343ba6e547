using System.Collections.Immutable;
using System.Net;

namespace FastProxy.Model;

/// <summary>
/// A Kubernetes-style Service: a stable virtual IP and ports in front of the pods its selector
/// chooses, balanced by a named strategy.
/// </summary>
public sealed record Service
{
    /// <summary>The namespace. Defaults to <c>default</c>.</summary>
    public string Namespace { get; init; } = NamespacedName.DefaultNamespace;

    /// <summary>The service's name, a DNS-1035 label unique in its namespace.</summary>
    public required string Name { get; init; }

    /// <summary>How the service is exposed. Defaults to <see cref="ServiceType.ClusterIP"/>.</summary>
    public ServiceType Type { get; init; } = ServiceType.ClusterIP;

    /// <summary>
    /// The virtual IP. When null, the catalog allocates one from its service CIDR, derived from the
    /// service's namespace and name so that it is the same after a restart. Defaults to null.
    /// </summary>
    public IPAddress? ClusterIP { get; init; }

    /// <summary>The ports exposed on the virtual IP; at least one.</summary>
    public ImmutableArray<ServicePort> Ports { get; init; } = [];

    /// <summary>The pods this service forwards to. A null or empty selector selects no pod.</summary>
    public LabelSelector? Selector { get; init; }

    /// <summary>
    /// The name of the balancing strategy (see <see cref="Balancing.BalancingStrategies"/>).
    /// Defaults to <see cref="Balancing.BalancingStrategies.RoundRobin"/>.
    /// </summary>
    public string Balancer { get; init; } = Balancing.BalancingStrategies.RoundRobin;

    /// <summary>The service's identity.</summary>
    public NamespacedName Id => new(Namespace, Name);
}
