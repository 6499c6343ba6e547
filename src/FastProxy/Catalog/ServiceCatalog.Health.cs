using System.Collections.Immutable;
using System.Net;
using FastProxy.Diagnostics;
using FastProxy.Health;
using FastProxy.Listeners;
using FastProxy.Model;
using Microsoft.Extensions.Logging;

namespace FastProxy.Catalog;

// Health-related parts of the catalog: routes narrowed to healthy endpoints (with panic), the rebuild that
// health changes trigger, and the health-check node port's allocation.
public sealed partial class ServiceCatalog
{
    // Under _gate: set while RefreshRoutes publishes, so its notification can tell followers only routes changed.
    private bool _refreshingRoutes;

    /// <summary>The clock of session affinity, which the health engine shares.</summary>
    internal TimeProvider TimeProvider => _time;

    /// <summary>The addresses node ports (and health-check node ports) listen on.</summary>
    internal ImmutableArray<IPAddress> NodeAddresses => _nodeAddresses;

    /// <summary>
    /// Rebuilds the routes of one service from its endpoints' current health and publishes a new version
    /// when they changed. Endpoints, other services and this service's unaffected ports stay the same
    /// instances. Like <see cref="Apply"/>, it must not be called from inside a change notification.
    /// </summary>
    /// <param name="id">The service.</param>
    /// <returns>The published version, or the current one when nothing changed.</returns>
    internal CatalogSnapshot RefreshRoutes(NamespacedName id) => RefreshRoutesOf([id]);

    /// <summary>Like <see cref="RefreshRoutes"/> for several services, in one version.</summary>
    /// <param name="ids">The services; ones that no longer exist are skipped.</param>
    /// <returns>The published version, or the current one when nothing changed.</returns>
    internal CatalogSnapshot RefreshRoutesOf(IEnumerable<NamespacedName> ids)
    {
        if (_gate.IsHeldByCurrentThread)
        {
            throw new InvalidOperationException("The catalog cannot be changed from inside its own Changed event or change-token callback; queue the change and apply it afterwards.");
        }

        lock (_gate)
        {
            _refreshingRoutes = true;
            try
            {
                return Publish([.. ids]);
            }
            finally
            {
                _refreshingRoutes = false;
            }
        }
    }

    /// <summary>
    /// True while <paramref name="snapshot"/> is being notified on this thread and was published by
    /// <see cref="RefreshRoutes"/>: only routes changed (endpoint health), no service definition
    /// nor endpoint set, so a follower need not retry what failed (a bind) on every health flap. False elsewhere,
    /// which makes a follower treat the version as an ordinary change.
    /// </summary>
    internal bool IsRouteRefresh(CatalogSnapshot snapshot)
        => _gate.IsHeldByCurrentThread && _refreshingRoutes && ReferenceEquals(snapshot, _current);

    /// <summary>True on the thread running a change notification, where <see cref="RefreshRoutes"/> would throw.</summary>
    internal bool IsNotifyingOnCurrentThread => _gate.IsHeldByCurrentThread;

    /// <summary>Narrows both route candidate sets to healthy endpoints, when the service checks health.</summary>
    private static (HealthRouting.Outcome Internal, HealthRouting.Outcome External) RouteHealth(Service service, ref ImmutableArray<EndpointState> internalSet, ref ImmutableArray<EndpointState> externalSet)
    {
        if (!HealthRouting.Applies(service))
        {
            return (new(internalSet, false, internalSet.Length, internalSet.Length), new(externalSet, false, externalSet.Length, externalSet.Length));
        }

        var internalHealth = HealthRouting.Filter(internalSet, service.PanicThreshold);
        var externalHealth = externalSet.SequenceEqual(internalSet) ? internalHealth : HealthRouting.Filter(externalSet, service.PanicThreshold);
        internalSet = internalHealth.Endpoints;
        externalSet = externalHealth.Endpoints;
        return (internalHealth, externalHealth);
    }

    /// <summary>How often a route entered panic, carried from the route it replaces; logs each entry and exit once.</summary>
    private long PanicCount(Service service, ServicePort port, HealthRouting.Outcome health, PortRoute? previous, string kind)
    {
        var was = previous?.InPanic ?? false;
        var count = previous?.PanicCount ?? 0;
        if (health.Panic && !was)
        {
            Log.PanicEntered(_logger, service.Id.ToString(), port.Port, kind, health.Healthy, health.Candidates, service.PanicThreshold);
            count++;
        }
        else if (!health.Panic && was)
        {
            Log.PanicLeft(_logger, service.Id.ToString(), port.Port, kind, health.Healthy, health.Candidates);
        }

        return count;
    }

    /// <summary>Kubernetes' <c>NeedsHealthCheck</c>: a LoadBalancer service whose external traffic stays on the node.</summary>
    private static bool NeedsHealthCheckNodePort(Service service)
        => service.Type == ServiceType.LoadBalancer && service.ExternalTrafficPolicy == TrafficPolicy.Local && !service.Headless;

    private delegate bool Claim(NamespacedName id, ListenerKey key, string field, string what, List<ListenerKey> claims);

    private static void ClaimHealthCheckNodePort(NamespacedName id, int number, List<ListenerKey> claims, Claim tryClaim, List<ValidationError> errors)
    {
        var key = NodePortKey(ServiceProtocol.Tcp, number);
        if (claims.Contains(key))
        {
            errors.Add(new($"service {id}", "spec.healthCheckNodePort", $"{number} is already used by one of this service's node ports"));
            return;
        }

        tryClaim(id, key, "spec.healthCheckNodePort", $"{number}/TCP", claims);
    }

    /// <summary>The number allocated before while it is free (an edit never moves it), else a new one; 0 when the range is full.</summary>
    private int AllocateHealthCheckNodePort(NamespacedName id, List<ListenerKey> claims, Func<ListenerKey, bool> isClaimedByOther, List<ValidationError> errors)
    {
        bool IsTaken(int candidate) => isClaimedByOther(NodePortKey(ServiceProtocol.Tcp, candidate)) || claims.Contains(NodePortKey(ServiceProtocol.Tcp, candidate));

        var number = _healthCheckNodePorts.TryGetValue(id, out var kept) && !IsTaken(kept) ? kept : NodePortAllocator.Allocate(id, "healthCheckNodePort", IsTaken);
        if (number is null)
        {
            errors.Add(new($"service {id}", "spec.healthCheckNodePort", $"no free node port left in {NodePortAllocator.First}-{NodePortAllocator.Last}"));
            return 0;
        }

        return number.Value;
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.PanicEntered, LogLevel.Warning, "Service {Service} port {Port} ({Route} route): {Healthy} of {Total} endpoints healthy, below the panic threshold of {Threshold}% (or none): balancing over all of them.", EventName = "PanicEntered")]
        public static partial void PanicEntered(ILogger logger, string service, int port, string route, int healthy, int total, int threshold);

        [LoggerMessage(EventIds.PanicLeft, LogLevel.Information, "Service {Service} port {Port} ({Route} route): {Healthy} of {Total} endpoints healthy; panic over, balancing over the healthy ones.", EventName = "PanicLeft")]
        public static partial void PanicLeft(ILogger logger, string service, int port, string route, int healthy, int total);
    }
}
