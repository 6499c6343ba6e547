using System.Collections.Immutable;

namespace FastProxy.Model;

/// <summary>
/// Endpoints given explicitly in the older core/v1 <c>Endpoints</c> shape, named like their service. As
/// Kubernetes' mirroring controller does, they back the service only when it has no selector; an
/// <see cref="EndpointSlice"/> is the newer way to say the same.
/// </summary>
public sealed record Endpoints
{
    /// <summary>The namespace, the same as the service's. Defaults to <c>default</c>.</summary>
    public string Namespace { get; init; } = NamespacedName.DefaultNamespace;

    /// <summary>The name, which is the name of the service they back.</summary>
    public required string Name { get; init; }

    /// <summary>Groups of addresses that share a set of ports.</summary>
    public ImmutableArray<EndpointSubset> Subsets { get; init; } = [];

    /// <summary>The object's identity, the same as its service's.</summary>
    public NamespacedName Id => new(Namespace, Name);
}

/// <summary>One <c>Endpoints.subsets[]</c> entry: addresses ready or not, and the ports they all serve.</summary>
public sealed record EndpointSubset
{
    /// <summary>Addresses that take connections (ready).</summary>
    public ImmutableArray<EndpointAddress> Addresses { get; init; } = [];

    /// <summary>Addresses that do not take connections yet (not ready).</summary>
    public ImmutableArray<EndpointAddress> NotReadyAddresses { get; init; } = [];

    /// <summary>The ports every address serves.</summary>
    public ImmutableArray<EndpointPort> Ports { get; init; } = [];
}

/// <summary>One address of an <see cref="EndpointSubset"/>.</summary>
public sealed record EndpointAddress
{
    /// <summary>The address.</summary>
    public required System.Net.IPAddress IP { get; init; }

    /// <summary>The DNS host name for headless services; null when none. Defaults to null.</summary>
    public string? Hostname { get; init; }

    /// <summary>The node it runs on; null when unknown. Defaults to null.</summary>
    public string? NodeName { get; init; }
}
