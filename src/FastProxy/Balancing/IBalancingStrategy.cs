using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// The control-plane half of a balancing strategy: registered once by name, asked for a new picker
/// whenever a service port's endpoint set changes. Building may allocate and precompute (tables,
/// rings, weights); it must be deterministic and free of I/O because it runs while a snapshot is built.
/// </summary>
public interface IBalancingStrategy
{
    /// <summary>The strategy's unique name, matched case-insensitively against <see cref="Service.Balancer"/>.</summary>
    string Name { get; }

    /// <summary>Builds the picker for one endpoint set. Called only with a non-empty set.</summary>
    /// <param name="endpoints">The endpoints, in a stable order (sorted by address and port).</param>
    IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints);
}
