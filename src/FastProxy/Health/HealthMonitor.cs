using System.Collections.Concurrent;
using FastProxy.Catalog;
using FastProxy.Model;
using Microsoft.Extensions.Logging;

namespace FastProxy.Health;

/// <summary>
/// Follows the catalog: gives every endpoint of a service with health checking or outlier detection a
/// tracker (and, for health checking, a prober), drops them when the endpoint, the service or its policy
/// goes, and turns each health transition into a log event, a metric and a rebuild of that one service's
/// routes (<see cref="ServiceCatalog.RefreshRoutes"/>), queued off the thread that saw it: at most one
/// pending per service.
/// </summary>
internal sealed partial class HealthMonitor : IHealthEvents, IAsyncDisposable
{
    private readonly Lock _sync = new();
    private readonly ServiceCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly IHealthProbe _probe;
    private readonly Func<double> _random;
    private readonly ILogger _logger;
    private readonly HealthMetrics _metrics;

    // Under _sync: per service, the policies its trackers were made for and the trackers by endpoint.
    private readonly Dictionary<NamespacedName, Watched> _services = [];

    // Lock-free: transitions arrive from probers, timers and connections.
    private readonly ConcurrentDictionary<NamespacedName, byte> _pendingRefresh = new();
    private readonly List<Task> _stopping = [];
    private readonly CatalogVersionGate _versions = new();
    private bool _disposed;

    public HealthMonitor(ServiceCatalog catalog, IHealthProbe probe, ILogger logger, HealthMetrics metrics, Func<double>? random = null)
    {
        _catalog = catalog;
        _time = catalog.TimeProvider;
        _probe = probe;
        _logger = logger;
        _metrics = metrics;
        _random = random ?? Random.Shared.NextDouble;
    }

    /// <summary>
    /// Reconciles with every service of <paramref name="snapshot"/>, or of a newer version published since: the
    /// current one is read under the lock, and a version already applied (a change notified first) is skipped.
    /// </summary>
    public void ApplyAll(CatalogSnapshot snapshot)
    {
        lock (_sync)
        {
            snapshot = CatalogVersionGate.Newest(snapshot, _catalog);
            foreach (var id in _versions.Advance(snapshot, everyService: true, _services.Keys))
            {
                Reconcile(id, snapshot);
            }
        }
    }

    /// <summary>Reconciles with the services a new version changed. Called from the catalog's Changed event: takes no catalog lock and blocks on nothing.</summary>
    public void ApplyChanges(CatalogSnapshot snapshot)
    {
        lock (_sync)
        {
            foreach (var id in _versions.Advance(snapshot, everyService: false, _services.Keys))
            {
                Reconcile(id, snapshot);
            }
        }
    }

    private void Reconcile(NamespacedName id, CatalogSnapshot snapshot)
    {
        if (_disposed)
        {
            return;
        }

        snapshot.Services.TryGetValue(id, out var service);
        var check = service?.Service.HealthCheck;
        var outlier = service?.Service.OutlierDetection;
        _services.TryGetValue(id, out var watched);
        if (watched is not null && (check != watched.Check || outlier != watched.Outlier))
        {
            // A new policy starts everyone afresh (healthy), as a new Envoy cluster would. This version's routes
            // were built with the old flags: rebuild them once more if any was set.
            if (StopAll(watched))
            {
                RequestRefresh(id);
            }

            _services.Remove(id);
            watched = null;
        }

        if (service is null || (check is null && outlier is null))
        {
            if (watched is not null)
            {
                // The catalog ignores health for a service without a policy, and a removed service has no routes:
                // the flags are cleared for whoever still holds the endpoints (a ServiceConnector), nothing to rebuild.
                StopAll(watched);
                _services.Remove(id);
            }

            return;
        }

        if (watched is null)
        {
            watched = new Watched(check, outlier);
            _services[id] = watched;
        }

        var current = new HashSet<EndpointState>(ReferenceEqualityComparer.Instance);
        foreach (var port in service.Ports)
        {
            foreach (var endpoint in port.AllEndpoints)
            {
                current.Add(endpoint);
                if (!watched.Endpoints.ContainsKey(endpoint))
                {
                    watched.Endpoints[endpoint] = Watch(endpoint, check, outlier);
                }
            }
        }

        foreach (var gone in watched.Endpoints.Keys.Where(e => !current.Contains(e)).ToList())
        {
            if (watched.Endpoints.Remove(gone, out var entry))
            {
                // It left every route with the endpoint set: nothing to rebuild.
                Stop(gone, entry);
            }
        }
    }

    private Entry Watch(EndpointState endpoint, HealthCheckPolicy? check, OutlierDetectionPolicy? outlier)
    {
        // Flags nobody owns could never be cleared (only an owner's timer or streak clears them: an ejected endpoint
        // with outlier detection alone would stay out of every route): a new tracker starts the endpoint healthy.
        if (endpoint.HealthTracker is null && ClearHealth(endpoint))
        {
            RequestRefresh(endpoint.Service);
        }

        var tracker = new EndpointHealthTracker(endpoint, check, outlier, _time, this);
        endpoint.HealthTracker = tracker;
        EndpointProber? prober = null;
        if (check is not null)
        {
            prober = new EndpointProber(tracker, check, _probe, _time, _random, OnProbed);
            prober.Start();
        }

        return new Entry(tracker, prober);
    }

    /// <summary>Stops watching every endpoint of a service; true when some endpoint's health flags were cleared.</summary>
    private bool StopAll(Watched watched)
    {
        var cleared = false;
        foreach (var (endpoint, entry) in watched.Endpoints)
        {
            cleared |= Stop(endpoint, entry);
        }

        watched.Endpoints.Clear();
        return cleared;
    }

    /// <summary>
    /// Stops the endpoint's tracker and prober and, when this tracker owned the endpoint, clears the flags it set:
    /// nothing else would ever clear them (its restore timer is gone), so an ejected endpoint would stay out of the
    /// routes for good. True when a flag was cleared; the caller rebuilds the routes where that matters.
    /// </summary>
    private bool Stop(EndpointState endpoint, Entry entry)
    {
        entry.Tracker.Dispose();
        var cleared = false;
        if (ReferenceEquals(endpoint.HealthTracker, entry.Tracker))
        {
            endpoint.HealthTracker = null;
            cleared = ClearHealth(endpoint);
        }

        if (entry.Prober is { } prober)
        {
            // Not awaited under the lock: the probe in flight is cancelled and finishes on its own; DisposeAsync waits for it.
            _stopping.RemoveAll(static t => t.IsCompleted);
            _stopping.Add(prober.DisposeAsync().AsTask());
        }

        return cleared;
    }

    private static bool ClearHealth(EndpointState endpoint)
        => endpoint.SetHealth(EndpointHealth.FailingChecks, on: false) | endpoint.SetHealth(EndpointHealth.Ejected, on: false);

    private void OnProbed(EndpointHealthTracker tracker, ProbeResult result, TimeSpan duration)
    {
        _metrics.Probed(tracker.Endpoint, result.Healthy, duration);
        if (!result.Healthy)
        {
            Log.ProbeFailed(_logger, tracker.Endpoint.Label, tracker.Endpoint.ServiceLabel, result.Detail);
        }
    }

    /// <summary>Logs, counts and queues the service's route rebuild. Takes no lock: probers call it while holding theirs.</summary>
    public void OnHealthChanged(EndpointHealthTracker tracker, HealthEvent change, HealthReason reason, string detail, TimeSpan ejectedFor)
    {
        var endpoint = tracker.Endpoint;
        switch (change)
        {
            case HealthEvent.ChecksFailing:
                Log.ChecksFailing(_logger, endpoint.Label, endpoint.ServiceLabel, tracker.Check?.UnhealthyThreshold ?? 0, detail);
                _metrics.Ejected(endpoint, reason);
                break;
            case HealthEvent.ChecksPassing:
                Log.ChecksPassing(_logger, endpoint.Label, endpoint.ServiceLabel, tracker.Check?.HealthyThreshold ?? 0);
                _metrics.Restored(endpoint, reason);
                break;
            case HealthEvent.Ejected:
                Log.Ejected(_logger, endpoint.Label, endpoint.ServiceLabel, detail, ejectedFor.TotalSeconds, tracker.Ejections);
                _metrics.Ejected(endpoint, reason);
                break;
            case HealthEvent.Restored:
                Log.Restored(_logger, endpoint.Label, endpoint.ServiceLabel, detail);
                _metrics.Restored(endpoint, reason);
                break;
        }

        RequestRefresh(endpoint.Service);
    }

    private void RequestRefresh(NamespacedName service)
    {
        if (Volatile.Read(ref _disposed) || !_pendingRefresh.TryAdd(service, 0))
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Monitor.Refresh(state.Service), (Monitor: this, Service: service), preferLocal: false);
    }

    private void Refresh(NamespacedName service)
    {
        try
        {
            // Removed before the rebuild, so a transition during it queues another.
            _pendingRefresh.TryRemove(service, out _);
            if (!Volatile.Read(ref _disposed))
            {
                _catalog.RefreshRoutes(service);
            }
        }
#pragma warning disable CA1031 // A failed rebuild must not take the thread pool down; the next transition retries.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.RefreshFailed(_logger, service.ToString(), ex);
        }
    }

    /// <summary>
    /// Stops every prober and timer, clears the health flags this monitor set and rebuilds those services' routes
    /// (a server started later on the same catalog, or a ServiceConnector, must not inherit an ejection nobody will
    /// end), then waits for probes in flight.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        List<Task> stopping;
        NamespacedName[] watchedServices;
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            Volatile.Write(ref _disposed, true);
            watchedServices = [.. _services.Keys];
            foreach (var watched in _services.Values)
            {
                StopAll(watched);
            }

            _services.Clear();
            stopping = [.. _stopping];
            _stopping.Clear();
        }

        // Every watched service, not only those with a flag cleared here: a rebuild queued for a transition just
        // before is skipped once disposed. One version for all; a service whose routes are right publishes nothing.
        if (watchedServices.Length > 0)
        {
            if (_catalog.IsNotifyingOnCurrentThread)
            {
                // Stopped from inside a change notification, where the catalog cannot be changed: right after it.
                ThreadPool.UnsafeQueueUserWorkItem(static state => state.Monitor.RefreshAfterStop(state.Services), (Monitor: this, Services: watchedServices), preferLocal: false);
            }
            else
            {
                RefreshAfterStop(watchedServices);
            }
        }

        await Task.WhenAll(stopping).ConfigureAwait(false);
    }

    private void RefreshAfterStop(NamespacedName[] services)
    {
        try
        {
            _catalog.RefreshRoutesOf(services);
        }
#pragma warning disable CA1031 // Shutdown goes on; the services' next change rebuilds their routes.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.RefreshFailed(_logger, string.Join(", ", services), ex);
        }
    }

    private sealed record Entry(EndpointHealthTracker Tracker, EndpointProber? Prober);

    private sealed class Watched(HealthCheckPolicy? check, OutlierDetectionPolicy? outlier)
    {
        public HealthCheckPolicy? Check { get; } = check;

        public OutlierDetectionPolicy? Outlier { get; } = outlier;

        public Dictionary<EndpointState, Entry> Endpoints { get; } = new(ReferenceEqualityComparer.Instance);
    }
}
