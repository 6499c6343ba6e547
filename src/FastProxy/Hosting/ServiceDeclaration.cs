using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Hosting;

/// <summary>
/// A service declared in configuration (<c>FastProxy:Services</c>): the common fields of
/// <see cref="Service"/>. Services that need more are added to the <see cref="Catalog.ServiceCatalog"/> in code.
/// </summary>
public sealed class ServiceDeclaration
{
    /// <summary>The service's name, a DNS-1035 label unique in its namespace.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The namespace. Defaults to <c>default</c>.</summary>
    public string Namespace { get; set; } = NamespacedName.DefaultNamespace;

    /// <summary>How the service is exposed. Defaults to <see cref="ServiceType.ClusterIP"/>.</summary>
    public ServiceType Type { get; set; } = ServiceType.ClusterIP;

    /// <summary>
    /// The virtual IP; <c>None</c> makes the service headless. When null, the catalog allocates one from
    /// its service CIDR, the same after a restart. Defaults to null.
    /// </summary>
    public string? ClusterIP { get; set; }

    /// <summary>The ports exposed on the virtual IP.</summary>
    public IList<ServicePortDeclaration> Ports { get; } = [];

    /// <summary>The labels a pod must carry to be an endpoint of this service. Empty selects no pod.</summary>
    public IDictionary<string, string> Selector { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The balancing strategy's name (see <see cref="BalancingStrategies"/>). Defaults to <c>round-robin</c>.</summary>
    public string Balancer { get; set; } = BalancingStrategies.RoundRobin;

    /// <summary>Whether connections from one client stick to one endpoint. Defaults to <see cref="Model.SessionAffinity.None"/>.</summary>
    public SessionAffinity SessionAffinity { get; set; } = SessionAffinity.None;
}
