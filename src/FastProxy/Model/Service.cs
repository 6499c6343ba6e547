using System.Collections.Immutable;
using System.Net;

namespace FastProxy.Model;

/// <summary>
/// A Kubernetes-style Service: a stable virtual IP and ports in front of the pods its selector
/// chooses, balanced by a named strategy.
/// </summary>
public sealed record Service
{
    /// <summary>Kubernetes' default <c>sessionAffinityConfig.clientIP.timeoutSeconds</c>: 10800 seconds.</summary>
    public static readonly TimeSpan DefaultSessionAffinityTimeout = TimeSpan.FromSeconds(10800);

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

    /// <summary>
    /// True for a headless service (Kubernetes <c>clusterIP: None</c>): no virtual IP and no listener;
    /// discovery returns the endpoint addresses themselves. Defaults to false.
    /// </summary>
    public bool Headless { get; init; }

    /// <summary>The DNS name an <see cref="ServiceType.ExternalName"/> service aliases; null for every other type. Defaults to null.</summary>
    public string? ExternalName { get; init; }

    /// <summary>The ports exposed on the virtual IP; at least one, except for headless and ExternalName services.</summary>
    public ImmutableArray<ServicePort> Ports { get; init; } = [];

    /// <summary>The pods this service forwards to. A null or empty selector selects no pod.</summary>
    public LabelSelector? Selector { get; init; }

    /// <summary>
    /// The name of the balancing strategy (see <see cref="Balancing.BalancingStrategies"/>).
    /// Defaults to <see cref="Balancing.BalancingStrategies.RoundRobin"/>.
    /// </summary>
    public string Balancer { get; init; } = Balancing.BalancingStrategies.RoundRobin;

    /// <summary>Whether connections from one client stick to one endpoint (<c>spec.sessionAffinity</c>). Defaults to <see cref="SessionAffinity.None"/>.</summary>
    public SessionAffinity SessionAffinity { get; init; } = SessionAffinity.None;

    /// <summary>
    /// How long a client's affinity lasts after its last new connection
    /// (<c>spec.sessionAffinityConfig.clientIP.timeoutSeconds</c>), 1 second to 1 day. Defaults to
    /// Kubernetes' 10800 seconds (3 hours).
    /// </summary>
    public TimeSpan SessionAffinityTimeout { get; init; } = DefaultSessionAffinityTimeout;

    /// <summary>
    /// Kubernetes <c>publishNotReadyAddresses</c>: every selected pod counts as ready, whatever its Ready
    /// condition (for peers that must find each other before they are ready). Defaults to false.
    /// </summary>
    public bool PublishNotReadyAddresses { get; init; }

    /// <summary>Addresses outside the service CIDR that also listen on every service port, for any service type (<c>spec.externalIPs</c>). Defaults to none.</summary>
    public ImmutableArray<IPAddress> ExternalIPs { get; init; } = [];

    /// <summary>A <see cref="ServiceType.LoadBalancer"/> service's requested address (<c>spec.loadBalancerIP</c>); null when none. Defaults to null.</summary>
    public IPAddress? LoadBalancerIP { get; init; }

    /// <summary>A <see cref="ServiceType.LoadBalancer"/> service's assigned addresses (<c>status.loadBalancer.ingress[].ip</c>). Defaults to none.</summary>
    public ImmutableArray<IPAddress> LoadBalancerIngress { get; init; } = [];

    /// <summary>
    /// The client ranges a <see cref="ServiceType.LoadBalancer"/> service admits on its load-balancer
    /// addresses (<c>spec.loadBalancerSourceRanges</c>): a connection from outside them is refused before
    /// any byte is forwarded. Empty admits everyone. Defaults to empty.
    /// </summary>
    public ImmutableArray<IPNetwork> LoadBalancerSourceRanges { get; init; } = [];

    /// <summary>Which endpoints traffic to the virtual IP reaches (<c>spec.internalTrafficPolicy</c>). Defaults to <see cref="TrafficPolicy.Cluster"/>.</summary>
    public TrafficPolicy InternalTrafficPolicy { get; init; } = TrafficPolicy.Cluster;

    /// <summary>Which endpoints traffic to node ports, external IPs and load-balancer addresses reaches (<c>spec.externalTrafficPolicy</c>). Defaults to <see cref="TrafficPolicy.Cluster"/>.</summary>
    public TrafficPolicy ExternalTrafficPolicy { get; init; } = TrafficPolicy.Cluster;

    /// <summary>A preference for nearby endpoints under the Cluster policies (<c>spec.trafficDistribution</c>). Defaults to none.</summary>
    public TrafficDistribution TrafficDistribution { get; init; } = TrafficDistribution.Default;

    /// <summary>Active health checks of the service's endpoints; null for none. Defaults to null.</summary>
    public HealthCheckPolicy? HealthCheck { get; init; }

    /// <summary>Passive outlier detection on the service's connections; null for none. Defaults to null.</summary>
    public OutlierDetectionPolicy? OutlierDetection { get; init; }

    /// <summary>
    /// The panic threshold, a percentage 0-100: when fewer of a route's endpoints than this are healthy, or
    /// none is, the route balances over all of them, healthy or not, rather than overload the few or refuse
    /// everyone. Applies only with <see cref="HealthCheck"/> or <see cref="OutlierDetection"/>. Defaults to 0:
    /// panic only when every endpoint is unhealthy (see docs/health.md).
    /// </summary>
    public int PanicThreshold { get; init; }

    /// <summary>
    /// Kubernetes <c>spec.healthCheckNodePort</c>: for a <see cref="ServiceType.LoadBalancer"/> service with
    /// <see cref="ExternalTrafficPolicy"/> Local, the node port where an HTTP server says how many local
    /// endpoints this node has (200) or that it has none (503), for an external load balancer's checks.
    /// 0 allocates one from the node-port range, kept across edits. Defaults to 0.
    /// </summary>
    public int HealthCheckNodePort { get; init; }

    /// <summary>
    /// Drain policy, connection limits, timeouts and PROXY protocol (FastProxy's own, set by
    /// <c>fastproxy.io/</c> annotations in manifests). Defaults to <see cref="ConnectionPolicy.Default"/>.
    /// </summary>
    public ConnectionPolicy ConnectionPolicy { get; init; } = ConnectionPolicy.Default;

    /// <summary>How the service's UDP ports keep sessions: idle timeout and cap (docs/udp.md). Defaults to <see cref="UdpSessionPolicy.Default"/>.</summary>
    public UdpSessionPolicy Udp { get; init; } = UdpSessionPolicy.Default;

    /// <summary>The service's identity.</summary>
    public NamespacedName Id => new(Namespace, Name);
}
