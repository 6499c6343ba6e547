using System.Collections.Immutable;
using System.Net;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// The immutable state of one service port: where it listens, every endpoint with its conditions, and
/// the routes new connections follow.
/// </summary>
public sealed class ServicePortSnapshot
{
    internal ServicePortSnapshot(NamespacedName service, ServicePort port, IPEndPoint? virtualEndPoint, ImmutableArray<EndpointState> allEndpoints, PortRoute @internal, PortRoute external, PortListeners listeners)
    {
        Service = service;
        Port = port;
        VirtualEndPoint = virtualEndPoint;
        AllEndpoints = allEndpoints;
        Internal = @internal;
        External = external;
        NodePortEndPoints = listeners.NodePorts;
        ExternalEndPoints = listeners.ExternalIPs;
        LoadBalancerEndPoints = listeners.LoadBalancer;
    }

    /// <summary>The service the port belongs to.</summary>
    public NamespacedName Service { get; }

    /// <summary>The port definition; for a node port, <see cref="ServicePort.NodePort"/> holds the allocated number.</summary>
    public ServicePort Port { get; }

    /// <summary>The virtual IP and port; null for headless services, which have no virtual IP.</summary>
    public IPEndPoint? VirtualEndPoint { get; }

    /// <summary>Every endpoint of the port, usable or not, with its conditions (what discovery and dashboards show), sorted by address and port.</summary>
    public ImmutableArray<EndpointState> AllEndpoints { get; }

    /// <summary>The route of traffic to the virtual IP, by <see cref="Model.Service.InternalTrafficPolicy"/>.</summary>
    public PortRoute Internal { get; }

    /// <summary>
    /// The route of traffic to node ports, external IPs and load-balancer addresses, by
    /// <see cref="Model.Service.ExternalTrafficPolicy"/>; the same object as <see cref="Internal"/> when both lead to the same endpoints.
    /// </summary>
    public PortRoute External { get; }

    /// <summary>The node addresses at <see cref="ServicePort.NodePort"/> (NodePort and LoadBalancer services).</summary>
    public ImmutableArray<IPEndPoint> NodePortEndPoints { get; }

    /// <summary>The service's external IPs at <see cref="ServicePort.Port"/>.</summary>
    public ImmutableArray<IPEndPoint> ExternalEndPoints { get; }

    /// <summary>The load-balancer addresses at <see cref="ServicePort.Port"/>, where the source ranges apply.</summary>
    public ImmutableArray<IPEndPoint> LoadBalancerEndPoints { get; }

    /// <summary>The endpoints traffic to the virtual IP goes to (<see cref="Internal"/>'s).</summary>
    public ImmutableArray<EndpointState> Endpoints => Internal.Endpoints;

    /// <summary>The picker of traffic to the virtual IP (<see cref="Internal"/>'s); null when there is no endpoint.</summary>
    public IEndpointPicker? Picker => Internal.Picker;

    internal Affinity.SessionAffinityTable? Affinity => Internal.Affinity;
}

/// <summary>The addresses a service port listens on besides its virtual IP.</summary>
internal readonly record struct PortListeners(ImmutableArray<IPEndPoint> NodePorts, ImmutableArray<IPEndPoint> ExternalIPs, ImmutableArray<IPEndPoint> LoadBalancer)
{
    public static PortListeners None => new([], [], []);
}
