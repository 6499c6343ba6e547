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

    /// <summary>Reconciles with every service of <paramref name="snapshot"/>.</summary>
    public void ApplyAll(CatalogSnapshot snapshot)
    {
        lock (_sync)
        {
            foreach (var id in _services.Keys.Union(snapshot.Services.Keys).ToList())
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
            foreach (var id in snapshot.ChangedServices)
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
            // A new policy starts everyone afresh (healthy), as a new Envoy cluster would.
            StopAll(watched, clearHealth: true);
            _services.Remove(id);
            watched = null;
        }

        if (service is null || (check is null && outlier is null))
        {
            if (watched is not null)
            {
                StopAll(watched, clearHealth: true);
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
                Stop(gone, entry, clearHealth: false);
            }
        }
    }

    private Entry Watch(EndpointState endpoint, HealthCheckPolicy? check, OutlierDetectionPolicy? outlier)
    {
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

    private void StopAll(Watched watched, bool clearHealth)
    {
        foreach (var (endpoint, entry) in watched.Endpoints)
        {
            Stop(endpoint, entry, clearHealth);
        }

        watched.Endpoints.Clear();
    }

    private void Stop(EndpointState endpoint, Entry entry, bool clearHealth)
    {
        entry.Tracker.Dispose();
        if (ReferenceEquals(endpoint.HealthTracker, entry.Tracker))
        {
            endpoint.HealthTracker = null;
        }

        if (clearHealth)
        {
            // The catalog already ignores health for a service without a policy; a changed policy's rebuild
            // saw the old flags, so rebuild once more if any was set.
            var wasUnhealthy = endpoint.SetHealth(EndpointHealth.FailingChecks, on: false) | endpoint.SetHealth(EndpointHealth.Ejected, on: false);
            if (wasUnhealthy)
            {
                RequestRefresh(endpoint.Service);
            }
        }

        if (entry.Prober is { } prober)
        {
            // Not awaited under the lock: the probe in flight is cancelled and finishes on its own; DisposeAsync waits for it.
            _stopping.RemoveAll(static t => t.IsCompleted);
            _stopping.Add(prober.DisposeAsync().AsTask());
        }
    }

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

    /// <summary>Stops every prober and timer and waits for probes in flight; endpoint health is left as it is.</summary>
    public async ValueTask DisposeAsync()
    {
        List<Task> stopping;
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            Volatile.Write(ref _disposed, true);
            foreach (var watched in _services.Values)
            {
                StopAll(watched, clearHealth: false);
            }

            _services.Clear();
            stopping = [.. _stopping];
            _stopping.Clear();
        }

        // A rebuild queued before this point still runs (it only republishes routes); none is queued after.
        await Task.WhenAll(stopping).ConfigureAwait(false);
    }

    private sealed record Entry(EndpointHealthTracker Tracker, EndpointProber? Prober);

    private sealed class Watched(HealthCheckPolicy? check, OutlierDetectionPolicy? outlier)
    {
        public HealthCheckPolicy? Check { get; } = check;

        public OutlierDetectionPolicy? Outlier { get; } = outlier;

        public Dictionary<EndpointState, Entry> Endpoints { get; } = new(ReferenceEqualityComparer.Instance);
    }
}
