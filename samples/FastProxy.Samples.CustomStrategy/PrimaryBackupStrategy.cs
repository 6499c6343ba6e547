using System.Collections.Immutable;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Samples.CustomStrategy;

/// <summary>
/// Active/passive: every connection goes to the endpoint with the highest weight (the primary; ties go
/// to the lowest address); the others are backups, tried in weight order only when a connect to the
/// primary fails. HAProxy users know this as <c>backup</c> servers.
/// </summary>
public sealed class PrimaryBackupStrategy : IBalancingStrategy
{
    /// <summary>The value services put in <see cref="Service.Balancer"/> (or the <c>fastproxy.io/balancer</c> annotation).</summary>
    public const string StrategyName = "primary-backup";

    /// <inheritdoc />
    public string Name => StrategyName;

    /// <inheritdoc />
    public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
    {
        // The catalog never asks for a picker without endpoints, but a strategy should say so if it is.
        if (endpoints.IsDefaultOrEmpty)
        {
            throw new ArgumentException("A picker needs at least one endpoint.", nameof(endpoints));
        }

        // Building runs off the hot path, so it may sort and allocate; Pick must not.
        var byPreference = endpoints.OrderByDescending(e => e.Weight).ToArray();
        return new Picker(byPreference);
    }

    private sealed class Picker(EndpointState[] byPreference) : IEndpointPicker
    {
        // Attempt 0 is the primary; each retry after a failed connect moves one backup further down.
        public EndpointState? Pick(in PickContext context) => byPreference[context.Attempt % byPreference.Length];
    }
}
