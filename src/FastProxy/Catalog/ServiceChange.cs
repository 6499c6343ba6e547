using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>What one published version changed about one service, for hosts that react to changes.</summary>
/// <param name="Service">The service.</param>
/// <param name="Kind">Whether it appeared, changed or went away.</param>
/// <param name="AddedEndpoints">Endpoints that joined one of its ports.</param>
/// <param name="RemovedEndpoints">Endpoints that left (every endpoint, when the service went away).</param>
/// <param name="UpdatedEndpoints">Endpoints that stayed with new conditions or a new weight.</param>
public sealed record ServiceChange(
    NamespacedName Service,
    ServiceChangeKind Kind,
    ImmutableArray<EndpointState> AddedEndpoints,
    ImmutableArray<EndpointState> RemovedEndpoints,
    ImmutableArray<EndpointState> UpdatedEndpoints);

/// <summary>How a service changed in a published version.</summary>
public enum ServiceChangeKind
{
    /// <summary>The service is new.</summary>
    Added = 0,

    /// <summary>Its definition or endpoints changed.</summary>
    Updated = 1,

    /// <summary>The service was removed.</summary>
    Removed = 2,
}
