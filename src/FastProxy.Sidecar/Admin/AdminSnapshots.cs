using System.Collections.Immutable;
using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Sidecar.Admin;

/// <summary>
/// Turns one catalog version into the admin API's JSON shapes. Each request reads
/// <see cref="ServiceCatalog.Current"/> once, so services, ports and routes are from the same version;
/// the per-endpoint counters are live values read as the response is built.
/// </summary>
internal static class AdminSnapshots
{
    public static ServicesResponse Services(CatalogSnapshot snapshot)
        => new(snapshot.Version, [.. Sorted(snapshot).Select(Service)]);

    public static EndpointsResponse Endpoints(CatalogSnapshot snapshot)
        => new(snapshot.Version, [.. Sorted(snapshot).Select(ServiceEndpoints)]);

    // Namespace, then name: the order a person scans for, the same on every request.
    private static IEnumerable<ServiceSnapshot> Sorted(CatalogSnapshot snapshot)
        => snapshot.Services.Values
            .OrderBy(static s => s.Id.Namespace, StringComparer.Ordinal)
            .ThenBy(static s => s.Id.Name, StringComparer.Ordinal);

    private static ServiceInfo Service(ServiceSnapshot snapshot)
    {
        var service = snapshot.Service;
        return new ServiceInfo
        {
            Namespace = service.Namespace,
            Name = service.Name,
            Type = service.Type.ToString(),
            ClusterIP = snapshot.ClusterIP?.ToString(),
            Headless = service.Headless,
            ExternalName = service.ExternalName,
            Selector = service.Selector is { IsEmpty: false } selector ? selector.ToString() : null,
            Balancer = service.Balancer,
            SessionAffinity = new SessionAffinityInfo(service.SessionAffinity.ToString(), service.SessionAffinityTimeout.TotalSeconds),
            Policies = new PoliciesInfo(
                service.InternalTrafficPolicy.ToString(),
                service.ExternalTrafficPolicy.ToString(),
                service.TrafficDistribution.ToString(),
                service.PublishNotReadyAddresses),
            ExternalIPs = Texts(service.ExternalIPs),
            LoadBalancerIP = service.LoadBalancerIP?.ToString(),
            LoadBalancerIngress = Texts(service.LoadBalancerIngress),
            LoadBalancerSourceRanges = [.. service.LoadBalancerSourceRanges.Select(static r => r.ToString())],
            Ports = [.. snapshot.Ports.Select(Port)],
            HealthCheckNodePort = snapshot.HealthCheckNodePort,
            HealthCheck = service.HealthCheck?.Protocol.ToString().ToLowerInvariant(),
            OutlierDetection = service.OutlierDetection is not null,
            PanicThreshold = service.PanicThreshold,
        };
    }

    private static ServicePortInfo Port(ServicePortSnapshot port)
    {
        var all = port.AllEndpoints;
        return new ServicePortInfo
        {
            Name = port.Port.Name,
            Protocol = Protocol(port.Port.Protocol),
            Port = port.Port.Port,
            TargetPort = port.Port.TargetPortName is null ? port.Port.EffectiveTargetPort : 0,
            TargetPortName = port.Port.TargetPortName,
            NodePort = port.Port.NodePort,
            Listening = new ListeningInfo(
                port.VirtualEndPoint?.ToString(),
                Texts(port.NodePortEndPoints),
                Texts(port.ExternalEndPoints),
                Texts(port.LoadBalancerEndPoints)),
            Endpoints = new EndpointCounts(
                all.Length,
                all.Count(static e => e.Conditions.Ready),
                all.Count(static e => e.Conditions.Serving),
                all.Count(static e => e.Conditions.Terminating),
                port.Internal.Endpoints.Length,
                port.External.Endpoints.Length,
                all.Count(static e => e.Health == EndpointHealth.Healthy)),
            Panic = port.Internal.InPanic || port.External.InPanic,
        };
    }

    private static ServiceEndpointsInfo ServiceEndpoints(ServiceSnapshot snapshot)
        => new(snapshot.Service.Namespace, snapshot.Service.Name, [.. snapshot.Ports.Select(PortEndpoints)]);

    private static PortEndpointsInfo PortEndpoints(ServicePortSnapshot port)
        => new(
            port.Port.Name,
            Protocol(port.Port.Protocol),
            port.Port.Port,
            port.VirtualEndPoint?.ToString(),
            [.. port.AllEndpoints.Select(e => Endpoint(e, port))]);

    private static EndpointInfo Endpoint(EndpointState endpoint, ServicePortSnapshot port)
    {
        var conditions = endpoint.Conditions;
        return new EndpointInfo
        {
            Address = endpoint.EndPoint.ToString(),
            Ip = endpoint.EndPoint.Address.ToString(),
            Port = endpoint.EndPoint.Port,
            Pod = endpoint.Pod?.ToString(),
            Node = endpoint.NodeName,
            Zone = endpoint.Zone,
            Hostname = endpoint.Hostname,
            Conditions = new ConditionsInfo(conditions.Ready, conditions.Serving, conditions.Terminating),
            Health = HealthText(endpoint.Health),
            Weight = endpoint.Weight,
            ActiveConnections = endpoint.ActiveConnections,
            TotalConnections = endpoint.TotalConnections,
            FailedConnects = endpoint.FailedConnects,
            BytesToEndpoint = endpoint.BytesToEndpoint,
            BytesFromEndpoint = endpoint.BytesFromEndpoint,
            InternalRoute = Takes(port.Internal, endpoint),
            ExternalRoute = Takes(port.External, endpoint),
        };
    }

    private static string HealthText(EndpointHealth health) => health switch
    {
        EndpointHealth.Healthy => "healthy",
        EndpointHealth.FailingChecks => "failing-checks",
        EndpointHealth.Ejected => "ejected",
        _ => "failing-checks,ejected",
    };

    // The routes hold the very EndpointState instances of AllEndpoints (the catalog shares them), so identity is membership.
    private static bool Takes(PortRoute route, EndpointState endpoint)
    {
        foreach (var member in route.Endpoints)
        {
            if (ReferenceEquals(member, endpoint))
            {
                return true;
            }
        }

        return false;
    }

    private static string Protocol(ServiceProtocol protocol)
        => protocol == ServiceProtocol.Udp ? "UDP" : "TCP";

    private static string[] Texts(ImmutableArray<IPAddress> addresses)
        => [.. addresses.Select(static a => a.ToString())];

    private static string[] Texts(ImmutableArray<IPEndPoint> endPoints)
        => [.. endPoints.Select(static e => e.ToString())];
}
