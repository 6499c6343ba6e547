using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastProxy.Sidecar.Admin;

// The JSON of /api/services and /api/endpoints. Plain strings and numbers only (addresses as text,
// enums by name), so the shapes read the same from curl, jq, the dashboard and tests.

/// <summary><c>/api/services</c>: every service with its ports and where each listens.</summary>
internal sealed record ServicesResponse(long CatalogVersion, IReadOnlyList<ServiceInfo> Services);

internal sealed record ServiceInfo
{
    public required string Namespace { get; init; }
    public required string Name { get; init; }
    /// <summary>ClusterIP, NodePort, LoadBalancer or ExternalName.</summary>
    public required string Type { get; init; }
    /// <summary>The virtual IP; null for headless and ExternalName services.</summary>
    public string? ClusterIP { get; init; }
    public bool Headless { get; init; }
    public string? ExternalName { get; init; }
    /// <summary>The selector as <c>key=value,...</c>; null when the service has none (explicit endpoints only).</summary>
    public string? Selector { get; init; }
    public required string Balancer { get; init; }
    public required SessionAffinityInfo SessionAffinity { get; init; }
    public required PoliciesInfo Policies { get; init; }
    public required IReadOnlyList<string> ExternalIPs { get; init; }
    public string? LoadBalancerIP { get; init; }
    public required IReadOnlyList<string> LoadBalancerIngress { get; init; }
    public required IReadOnlyList<string> LoadBalancerSourceRanges { get; init; }
    public required IReadOnlyList<ServicePortInfo> Ports { get; init; }
    /// <summary>The node port where load balancers ask for this node's local endpoints (LoadBalancer + Local); 0 when none.</summary>
    public int HealthCheckNodePort { get; init; }
    /// <summary>Whether endpoints are health-checked (tcp or http) and outliers ejected; null when off.</summary>
    public string? HealthCheck { get; init; }
    public bool OutlierDetection { get; init; }
    public int PanicThreshold { get; init; }
}

/// <summary><c>None</c> or <c>ClientIP</c>, and how long a client sticks.</summary>
internal sealed record SessionAffinityInfo(string Type, double TimeoutSeconds);

internal sealed record PoliciesInfo(string InternalTrafficPolicy, string ExternalTrafficPolicy, string TrafficDistribution, bool PublishNotReadyAddresses);

internal sealed record ServicePortInfo
{
    public required string Name { get; init; }
    /// <summary>TCP or UDP, as Kubernetes spells them.</summary>
    public required string Protocol { get; init; }
    public required int Port { get; init; }
    /// <summary>The numeric target port; 0 when the target is a named port.</summary>
    public required int TargetPort { get; init; }
    public string? TargetPortName { get; init; }
    /// <summary>The node port (allocated when not given); 0 for ClusterIP services.</summary>
    public required int NodePort { get; init; }
    public required ListeningInfo Listening { get; init; }
    public required EndpointCounts Endpoints { get; init; }
    /// <summary>A route of this port balances over unhealthy endpoints too, because too few are healthy.</summary>
    public bool Panic { get; init; }
}

/// <summary>Every address:port a service port listens on.</summary>
internal sealed record ListeningInfo(string? Virtual, IReadOnlyList<string> NodePorts, IReadOnlyList<string> External, IReadOnlyList<string> LoadBalancer);

/// <summary>How many endpoints a port has, by condition, and how many each route takes.</summary>
internal sealed record EndpointCounts(int Total, int Ready, int Serving, int Terminating, int InternalRoute, int ExternalRoute, int Healthy);

/// <summary><c>/api/endpoints</c>: per service port, every endpoint with its conditions and counters.</summary>
internal sealed record EndpointsResponse(long CatalogVersion, IReadOnlyList<ServiceEndpointsInfo> Services);

internal sealed record ServiceEndpointsInfo(string Namespace, string Name, IReadOnlyList<PortEndpointsInfo> Ports);

internal sealed record PortEndpointsInfo(string Name, string Protocol, int Port, string? Virtual, IReadOnlyList<EndpointInfo> Endpoints);

internal sealed record EndpointInfo
{
    /// <summary><c>address:port</c>, the same text as the <c>endpoint</c> label on /metrics.</summary>
    public required string Address { get; init; }
    public required string Ip { get; init; }
    public required int Port { get; init; }
    /// <summary><c>namespace/name</c> of the pod; null for explicit endpoints.</summary>
    public string? Pod { get; init; }
    public string? Node { get; init; }
    public string? Zone { get; init; }
    public string? Hostname { get; init; }
    public required ConditionsInfo Conditions { get; init; }
    /// <summary><c>healthy</c>, <c>failing-checks</c>, <c>ejected</c> or <c>failing-checks,ejected</c>.</summary>
    public required string Health { get; init; }
    public required int Weight { get; init; }
    public required long ActiveConnections { get; init; }
    public required long TotalConnections { get; init; }
    public required long FailedConnects { get; init; }
    public required long BytesToEndpoint { get; init; }
    public required long BytesFromEndpoint { get; init; }
    /// <summary>New connections to the virtual IP may go to this endpoint now.</summary>
    public required bool InternalRoute { get; init; }
    /// <summary>New connections to node ports, external IPs and load-balancer addresses may go to this endpoint now.</summary>
    public required bool ExternalRoute { get; init; }
}

internal sealed record ConditionsInfo(bool Ready, bool Serving, bool Terminating);

/// <summary>Source-generated (reflection-free, trim- and AOT-safe) camelCase serialization of the admin API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = false)]
[JsonSerializable(typeof(ServicesResponse))]
[JsonSerializable(typeof(EndpointsResponse))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
