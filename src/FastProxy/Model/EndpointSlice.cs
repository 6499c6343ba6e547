using System.Collections.Immutable;

namespace FastProxy.Model;

/// <summary>
/// Endpoints given explicitly for a service (discovery.k8s.io/v1 <c>EndpointSlice</c>), the way to back a
/// service that has no selector. A service takes the endpoints of every slice naming it, alongside the
/// pods its selector chooses, as kube-proxy does.
/// </summary>
public sealed record EndpointSlice
{
    /// <summary>The namespace, the same as the service's. Defaults to <c>default</c>.</summary>
    public string Namespace { get; init; } = NamespacedName.DefaultNamespace;

    /// <summary>The slice's name, unique in its namespace.</summary>
    public required string Name { get; init; }

    /// <summary>The service this slice belongs to (Kubernetes' <c>kubernetes.io/service-name</c> label).</summary>
    public required string ServiceName { get; init; }

    /// <summary>The ports every endpoint of the slice serves; each applies to the service port of the same name and protocol.</summary>
    public ImmutableArray<EndpointPort> Ports { get; init; } = [];

    /// <summary>The endpoints.</summary>
    public ImmutableArray<SliceEndpoint> Endpoints { get; init; } = [];

    /// <summary>The slice's identity.</summary>
    public NamespacedName Id => new(Namespace, Name);
}
