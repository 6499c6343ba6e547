using System.Net;
using FastProxy.Catalog;
using FastProxy.Diagnostics;
using FastProxy.Listeners;
using FastProxy.Model;
using Microsoft.Extensions.Logging;

namespace FastProxy.Connections;

/// <summary>
/// Applies a service's <see cref="DrainPolicy"/> to the open connections of an endpoint that left or turned
/// terminating, and of a listener that was removed: keep does nothing, close resets them at once, drain lets
/// them run until a deadline on the server's clock and resets the rest then. Runs on the catalog's change
/// notification, so it costs forwarding nothing.
/// </summary>
internal sealed partial class ConnectionDrainer : IDisposable
{
    private const string EndpointRemoved = "endpoint_removed";
    private const string EndpointTerminating = "endpoint_terminating";
    private const string ListenerRemoved = "listener_removed";

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ProxyMetrics _metrics;
    private readonly Lock _timersLock = new();
    private readonly HashSet<ITimer> _timers = [];
    private bool _disposed;

    public ConnectionDrainer(TimeProvider time, ILogger logger, ProxyMetrics metrics)
    {
        _time = time;
        _logger = logger;
        _metrics = metrics;
    }

    /// <summary>
    /// Applies the policy to every endpoint a published version removed or marked terminating. Must run after
    /// the listeners took the same version (see ProxyServer.OnCatalogChanged): a deleted service's listeners are
    /// then closed already and have applied the policy to the connections they accepted.
    /// </summary>
    public void OnCatalogChanged(CatalogChangedEventArgs e)
    {
        foreach (var change in e.Changes)
        {
            // A removed service's policy is gone with it: its connections follow the policy they were forwarded under.
            var serviceRemoved = !e.Snapshot.TryGetService(change.Service, out var service);
            var policy = serviceRemoved ? null : service!.Service.ConnectionPolicy;
            foreach (var endpoint in change.RemovedEndpoints)
            {
                OnEndpointRemoved(endpoint, policy, serviceRemoved);
            }

            foreach (var endpoint in change.UpdatedEndpoints)
            {
                if (policy is not null && endpoint.Conditions.Terminating && !endpoint.IsRemoved)
                {
                    OnEndpointTerminating(endpoint, policy);
                }
            }
        }
    }

    /// <summary>
    /// A listener was removed (its service, port or address is gone): it accepts no more; its connections follow
    /// the policy, including those still in flight (reading a PROXY header, connecting, queued) when it was
    /// removed, which its connection set catches when they register.
    /// </summary>
    public void OnListenerClosed(ServiceListener listener)
    {
        var set = listener.Connections;
        if (!set.TryStartTrigger(DrainTrigger.Removed))
        {
            return;
        }

        var policy = listener.Route.Policy;
        var subject = listener.Key.ToString();
        switch (policy.Drain)
        {
            case DrainPolicy.Close:
                CloseNow(set.Close(Termination.ClosePolicy), subject, ListenerRemoved);
                break;
            case DrainPolicy.Drain:
                Drain(set, set.ToArray(), policy.DrainTimeout, subject, ListenerRemoved, serviceRemoved: false);
                break;
            default:
                Keep(set.ToArray(), subject, ListenerRemoved);
                break;
        }
    }

    /// <summary>
    /// The endpoint left its service: its set closes for good (close at once, drain at the deadline), so a
    /// connection that connected just before the route changed and registers late is caught too.
    /// </summary>
    private void OnEndpointRemoved(EndpointState endpoint, ConnectionPolicy? policy, bool serviceRemoved)
    {
        var set = endpoint.Connections;
        if (!set.TryStartTrigger(DrainTrigger.Removed))
        {
            return;
        }

        var open = set.ToArray();
        policy ??= open.Length > 0 ? open[0].Route.Policy : null;
        if (policy is null)
        {
            // A deleted service with nothing open here: its closed listeners catch what registers late.
            return;
        }

        var subject = endpoint.EndPoint.ToString();
        switch (policy.Drain)
        {
            case DrainPolicy.Close:
                CloseNow(Unclaimed(set.Close(Termination.ClosePolicy), serviceRemoved), subject, EndpointRemoved);
                break;
            case DrainPolicy.Drain:
                Drain(set, open, policy.DrainTimeout, subject, EndpointRemoved, serviceRemoved);
                break;
            default:
                Keep(Unclaimed(open, serviceRemoved), subject, EndpointRemoved);
                break;
        }
    }

    /// <summary>
    /// The endpoint turned terminating. It may still take new connections: when no endpoint of the route is
    /// ready, routes fall back to serving terminating ones, and with publishNotReadyAddresses a terminating pod
    /// stays ready. So the policy acts on the connections open now and the set stays open; connections made
    /// later run until the endpoint leaves, when the policy acts on them.
    /// </summary>
    private void OnEndpointTerminating(EndpointState endpoint, ConnectionPolicy policy)
    {
        var set = endpoint.Connections;

        // Every later change of a terminating endpoint's conditions or weight lists it again: only the first counts.
        if (!set.TryStartTrigger(DrainTrigger.Terminating))
        {
            return;
        }

        var open = set.ToArray();
        var subject = endpoint.EndPoint.ToString();
        switch (policy.Drain)
        {
            case DrainPolicy.Close:
                CloseNow(open, subject, EndpointTerminating);
                break;
            case DrainPolicy.Drain:
                var draining = StartDraining(open, serviceRemoved: false);
                if (draining.Length > 0)
                {
                    StartDrain(draining, policy.DrainTimeout, subject, EndpointTerminating, _ => CloseAtDeadline(draining, subject));
                }

                break;
            default:
                Keep(open, subject, EndpointTerminating);
                break;
        }
    }

    /// <summary>
    /// Drains a set that is gone for good: the connections open now not yet under a deadline get one (an endpoint
    /// that turned terminating first keeps the deadline from then), and at the deadline the set closes, resetting
    /// whatever is still open or registered late.
    /// </summary>
    private void Drain(ConnectionSet set, ForwardedConnection[] open, TimeSpan timeout, string subject, string trigger, bool serviceRemoved)
    {
        var draining = StartDraining(open, serviceRemoved);
        if (draining.Length > 0)
        {
            StartDrain(draining, timeout, subject, trigger, atDeadline: null);
        }

        Schedule(timeout, _ => CloseAtDeadline(Unclaimed(set.Close(Termination.DrainDeadline), serviceRemoved), subject));
    }

    /// <summary>The connections of <paramref name="open"/> this trigger puts under a drain deadline (not the path's of a closed listener, not those under one already).</summary>
    private static ForwardedConnection[] StartDraining(ForwardedConnection[] open, bool serviceRemoved)
        => [.. Unclaimed(open, serviceRemoved).Where(static c => c.TryStartDraining())];

    /// <summary>
    /// An endpoint's connections that are its path's to act on. A deleted service's listeners were all removed in
    /// the same version, before this runs, and applied the policy to what they accepted: acting on those again
    /// would count and log each drain twice. What they did not accept (forwarded without a listener) is left here.
    /// </summary>
    private static ForwardedConnection[] Unclaimed(ForwardedConnection[] connections, bool serviceRemoved)
        => serviceRemoved ? [.. connections.Where(static c => c.Listener is null)] : connections;

    private void Keep(ForwardedConnection[] connections, string subject, string trigger)
    {
        if (connections.Length == 0)
        {
            return;
        }

        var route = connections[0].Route;
        _metrics.DrainApplied(route, DrainPolicy.Keep, trigger);
        Log.KeptByPolicy(_logger, route.Service, subject, trigger, connections.Length);
    }

    private void CloseNow(ForwardedConnection[] connections, string subject, string trigger)
    {
        if (connections.Length == 0)
        {
            return;
        }

        var route = connections[0].Route;
        _metrics.DrainApplied(route, DrainPolicy.Close, trigger);
        var closed = Terminate(connections, Termination.ClosePolicy, $"The {Describe(trigger)} (drain policy close).");
        if (closed > 0)
        {
            _metrics.Terminated(route, Termination.ClosePolicy, closed);
        }

        Log.ClosedByPolicy(_logger, route.Service, subject, trigger, closed);
    }

    private void StartDrain(ForwardedConnection[] connections, TimeSpan timeout, string subject, string trigger, Action<ITimer>? atDeadline)
    {
        var route = connections[0].Route;
        _metrics.DrainApplied(route, DrainPolicy.Drain, trigger);
        Log.DrainStarted(_logger, route.Service, subject, trigger, connections.Length, timeout);
        if (atDeadline is not null)
        {
            Schedule(timeout, atDeadline);
        }
    }

    private void CloseAtDeadline(ForwardedConnection[] connections, string subject)
    {
        if (connections.Length == 0)
        {
            return;
        }

        var route = connections[0].Route;
        var closed = Terminate(connections, Termination.DrainDeadline, "The drain deadline passed (drain policy drain).");
        if (closed > 0)
        {
            _metrics.Terminated(route, Termination.DrainDeadline, closed);
            Log.DrainDeadlineReached(_logger, route.Service, subject, closed);
        }
    }

    private static int Terminate(ForwardedConnection[] connections, Termination reason, string message)
    {
        var closed = 0;
        foreach (var connection in connections)
        {
            if (connection.Terminate(reason, message))
            {
                closed++;
            }
        }

        return closed;
    }

    /// <summary>Runs <paramref name="action"/> once after <paramref name="dueTime"/> on the server's clock, unless the drainer is disposed first.</summary>
    private ITimer? Schedule(TimeSpan dueTime, Action<ITimer> action)
    {
        lock (_timersLock)
        {
            if (_disposed)
            {
                return null;
            }

            ITimer? timer = null;
            timer = _time.CreateTimer(
                _ =>
                {
                    lock (_timersLock)
                    {
                        // Disposed (server stopped) or already fired: nothing to do.
                        if (timer is null || !_timers.Remove(timer))
                        {
                            return;
                        }
                    }

                    timer.Dispose();
                    action(timer);
                },
                null,
                Timeout.InfiniteTimeSpan,
                Timeout.InfiniteTimeSpan);
            _timers.Add(timer);

            // Armed only once registered, so a short deadline cannot fire before the callback can find its timer.
            timer.Change(dueTime, Timeout.InfiniteTimeSpan);
            return timer;
        }
    }

    private static string Describe(string trigger) => trigger switch
    {
        EndpointRemoved => "endpoint left its service",
        EndpointTerminating => "endpoint is terminating",
        _ => "listener was removed",
    };

    /// <summary>Cancels pending drain deadlines; the server's shutdown handles what is still open.</summary>
    public void Dispose()
    {
        lock (_timersLock)
        {
            _disposed = true;
            foreach (var timer in _timers)
            {
                timer.Dispose();
            }

            _timers.Clear();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.DrainStarted, LogLevel.Information, "Service {Service}: {Subject} gone ({Trigger}); draining {Count} open connection(s), the rest are reset in {Timeout}.", EventName = "DrainStarted")]
        public static partial void DrainStarted(ILogger logger, NamespacedName service, string subject, string trigger, int count, TimeSpan timeout);

        [LoggerMessage(EventIds.DrainDeadlineReached, LogLevel.Information, "Service {Service}: drain deadline of {Subject} reached; reset {Count} connection(s) still open.", EventName = "DrainDeadlineReached")]
        public static partial void DrainDeadlineReached(ILogger logger, NamespacedName service, string subject, int count);

        [LoggerMessage(EventIds.ClosedByPolicy, LogLevel.Information, "Service {Service}: {Subject} gone ({Trigger}); reset {Count} open connection(s) (drain policy close).", EventName = "ClosedByPolicy")]
        public static partial void ClosedByPolicy(ILogger logger, NamespacedName service, string subject, string trigger, int count);

        [LoggerMessage(EventIds.KeptByPolicy, LogLevel.Debug, "Service {Service}: {Subject} gone ({Trigger}); {Count} open connection(s) keep running (drain policy keep).", EventName = "KeptByPolicy")]
        public static partial void KeptByPolicy(ILogger logger, NamespacedName service, string subject, string trigger, int count);
    }
}
