using System.Collections.Immutable;
using System.Net;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>The immutable state of one service in one catalog version.</summary>
public sealed class ServiceSnapshot
{
    internal ServiceSnapshot(Service service, IPAddress? clusterIP, ImmutableArray<ServicePortSnapshot> ports, ImmutableArray<EndpointState> portlessEndpoints, int healthCheckNodePort = 0)
    {
        HealthCheckNodePort = healthCheckNodePort;
        PortlessEndpoints = portlessEndpoints;
        Service = service;
        ClusterIP = clusterIP;
        Ports = ports;
    }

    /// <summary>The service definition as it was given.</summary>
    public Service Service { get; }

    /// <summary>The virtual IP: the one given, or the one the catalog allocated; null for headless and ExternalName services.</summary>
    public IPAddress? ClusterIP { get; }

    /// <summary>One entry per service port, in the order the service lists them; none for an ExternalName service.</summary>
    public ImmutableArray<ServicePortSnapshot> Ports { get; }

    /// <summary>
    /// For a headless service without ports: every endpoint (port 0) with its conditions, since Kubernetes
    /// publishes such a service's pods for DNS all the same. Empty for every other service, whose endpoints
    /// are per port (<see cref="ServicePortSnapshot.AllEndpoints"/>).
    /// </summary>
    public ImmutableArray<EndpointState> PortlessEndpoints { get; }

    /// <summary>
    /// The node port of the service's load-balancer health check (<see cref="Model.Service.HealthCheckNodePort"/>,
    /// allocated when not given); 0 unless the service is a LoadBalancer with a Local external traffic policy.
    /// </summary>
    public int HealthCheckNodePort { get; }

    /// <summary>The service's identity.</summary>
    public NamespacedName Id => Service.Id;
}
