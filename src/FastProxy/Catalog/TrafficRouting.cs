using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// Which endpoints take new connections, by Kubernetes' rules as kube-proxy applies them
/// (<c>CategorizeEndpoints</c>): ready endpoints, narrowed by the traffic distribution; when none is
/// ready, serving endpoints that are terminating; under a Local policy only this node's endpoints, and
/// none rather than another node's.
/// </summary>
internal static class TrafficRouting
{
    /// <summary>The endpoints for traffic under the Cluster policy, in the order of <paramref name="all"/>.</summary>
    public static ImmutableArray<EndpointState> Cluster(ImmutableArray<EndpointState> all, TrafficDistribution distribution, string? nodeName, string? zone)
    {
        var ready = Where(all, static (e, _) => e.Conditions.Ready, 0);
        if (ready.IsEmpty)
        {
            // No topology preference for the fallback, as in kube-proxy: any serving endpoint beats none.
            return Where(all, static (e, _) => e.Conditions.IsFallback, 0);
        }

        // Node hints, like zone hints, count only when every ready endpoint has one.
        if (distribution == TrafficDistribution.PreferSameNode && nodeName is not null && ready.All(static e => e.NodeName is not null))
        {
            var onNode = Where(ready, static (e, node) => string.Equals(e.NodeName, node, StringComparison.Ordinal), nodeName);
            if (!onNode.IsEmpty)
            {
                return onNode;
            }
        }

        // Zone hints count only when every ready endpoint has one (the EndpointSlice controller sets
        // them all or none) and at least one is ours.
        if (distribution != TrafficDistribution.Default && zone is not null && ready.All(static e => e.Zone is not null))
        {
            var inZone = Where(ready, static (e, z) => string.Equals(e.Zone, z, StringComparison.Ordinal), zone);
            if (!inZone.IsEmpty)
            {
                return inZone;
            }
        }

        return ready;
    }

    /// <summary>The endpoints for traffic under the Local policy: this node's ready ones, else its serving-terminating ones, else none.</summary>
    public static ImmutableArray<EndpointState> Local(ImmutableArray<EndpointState> all, string? nodeName)
    {
        if (nodeName is null)
        {
            return [];
        }

        var ready = Where(all, static (e, node) => e.Conditions.Ready && string.Equals(e.NodeName, node, StringComparison.Ordinal), nodeName);
        return !ready.IsEmpty ? ready
            : Where(all, static (e, node) => e.Conditions.IsFallback && string.Equals(e.NodeName, node, StringComparison.Ordinal), nodeName);
    }

    private static ImmutableArray<EndpointState> Where<TState>(ImmutableArray<EndpointState> endpoints, Func<EndpointState, TState, bool> keep, TState state)
    {
        var count = 0;
        foreach (var endpoint in endpoints)
        {
            count += keep(endpoint, state) ? 1 : 0;
        }

        if (count == endpoints.Length)
        {
            return endpoints;
        }

        var kept = ImmutableArray.CreateBuilder<EndpointState>(count);
        foreach (var endpoint in endpoints)
        {
            if (keep(endpoint, state))
            {
                kept.Add(endpoint);
            }
        }

        return kept.MoveToImmutable();
    }
}
