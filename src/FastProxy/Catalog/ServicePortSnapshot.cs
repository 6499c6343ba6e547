using System.Collections.Immutable;
using System.Net;
using FastProxy.Affinity;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// The immutable forwarding state of one service port: where it listens, its endpoints and the picker
/// built for them. The hot path reads one reference to this object and uses only that for a connection.
/// </summary>
public sealed class ServicePortSnapshot
{
    internal ServicePortSnapshot(NamespacedName service, ServicePort port, IPEndPoint virtualEndPoint, ImmutableArray<EndpointState> endpoints, IEndpointPicker? picker, ServicePortLoad load, SessionAffinityTable? affinity)
    {
        Load = load;
        Affinity = affinity;
        Service = service;
        Port = port;
        VirtualEndPoint = virtualEndPoint;
        Endpoints = endpoints;
        Picker = picker;
    }

    /// <summary>The service the port belongs to.</summary>
    public NamespacedName Service { get; }

    /// <summary>The port definition.</summary>
    public ServicePort Port { get; }

    /// <summary>The virtual IP and port the service listens on.</summary>
    public IPEndPoint VirtualEndPoint { get; }

    /// <summary>The endpoints new connections may go to, sorted by address and port.</summary>
    public ImmutableArray<EndpointState> Endpoints { get; }

    /// <summary>The picker over <see cref="Endpoints"/>; null when there is no endpoint.</summary>
    public IEndpointPicker? Picker { get; }

    /// <summary>Open connections of this port over all its endpoints; carried across rebuilds.</summary>
    internal ServicePortLoad Load { get; }

    /// <summary>The ClientIP affinity table, when the service asks for it; carried across rebuilds while the setting stays.</summary>
    internal SessionAffinityTable? Affinity { get; }
}
