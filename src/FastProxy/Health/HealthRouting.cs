using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Health;

/// <summary>
/// Narrows a route's endpoints to the healthy ones, where routes are built: unhealthy endpoints leave the
/// route as unready ones do; when too few are healthy (below the panic threshold, or none at all) the route
/// keeps all of them, as Envoy's and YARP's panic modes do, rather than refuse every connection.
/// </summary>
internal static class HealthRouting
{
    /// <summary>The result for one route: its endpoints, whether it panics, and how many of the candidates were healthy.</summary>
    public readonly record struct Outcome(ImmutableArray<EndpointState> Endpoints, bool Panic, int Healthy, int Candidates);

    /// <summary>True when the service checks health at all; otherwise health flags are ignored.</summary>
    public static bool Applies(Service service) => service.HealthCheck is not null || service.OutlierDetection is not null;

    public static Outcome Filter(ImmutableArray<EndpointState> candidates, int panicThreshold)
    {
        var healthy = 0;
        foreach (var endpoint in candidates)
        {
            healthy += endpoint.Health == EndpointHealth.Healthy ? 1 : 0;
        }

        if (candidates.IsEmpty || healthy == candidates.Length)
        {
            return new(candidates, false, healthy, candidates.Length);
        }

        // Integer percentages: healthy/total < threshold/100 without rounding.
        if (healthy == 0 || healthy * 100L < panicThreshold * (long)candidates.Length)
        {
            return new(candidates, true, healthy, candidates.Length);
        }

        var kept = ImmutableArray.CreateBuilder<EndpointState>(healthy);
        foreach (var endpoint in candidates)
        {
            if (endpoint.Health == EndpointHealth.Healthy)
            {
                kept.Add(endpoint);
            }
        }

        return new(kept.MoveToImmutable(), false, healthy, candidates.Length);
    }
}
