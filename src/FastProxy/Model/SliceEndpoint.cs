using System.Collections.Immutable;
using System.Net;

namespace FastProxy.Model;

/// <summary>One endpoint of an <see cref="EndpointSlice"/> (discovery.k8s.io/v1 <c>Endpoint</c>).</summary>
public sealed record SliceEndpoint
{
    /// <summary>The endpoint's addresses; Kubernetes consumers use the first, and so does FastProxy. At least one.</summary>
    public required ImmutableArray<IPAddress> Addresses { get; init; }

    /// <summary>The endpoint's conditions. Defaults to ready and serving, as absent conditions mean in Kubernetes.</summary>
    public EndpointConditions Conditions { get; init; } = EndpointConditions.ReadyAndServing;

    /// <summary>The endpoint's DNS host name for headless services; null when none. Defaults to null.</summary>
    public string? Hostname { get; init; }

    /// <summary>The node the endpoint runs on, for <see cref="TrafficPolicy.Local"/>; null when unknown. Defaults to null.</summary>
    public string? NodeName { get; init; }

    /// <summary>The zone the endpoint runs in, for <see cref="TrafficDistribution.PreferSameZone"/>; null when unknown. Defaults to null.</summary>
    public string? Zone { get; init; }
}
