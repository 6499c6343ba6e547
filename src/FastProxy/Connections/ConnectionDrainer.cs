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

    private readonly ConnectionSet _all;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ProxyMetrics _metrics;
    private readonly Lock _timersLock = new();
    private readonly HashSet<ITimer> _timers = [];
    private bool _disposed;

    public ConnectionDrainer(ConnectionSet all, TimeProvider time, ILogger logger, ProxyMetrics metrics)
    {
        _all = all;
        _time = time;
        _logger = logger;
        _metrics = metrics;
    }

    /// <summary>Applies the policy to every endpoint a published version removed or marked terminating.</summary>
    public void OnCatalogChanged(CatalogChangedEventArgs e)
    {
        foreach (var change in e.Changes)
        {
            // A removed service's policy is gone with it: its connections follow the policy they were forwarded under.
            var policy = e.Snapshot.TryGetService(change.Service, out var service) ? service.Service.ConnectionPolicy : null;
            foreach (var endpoint in change.RemovedEndpoints)
            {
                OnEndpointLeft(endpoint, policy, EndpointRemoved);
            }

            foreach (var endpoint in change.UpdatedEndpoints)
            {
                if (endpoint.Conditions.Terminating && !endpoint.IsRemoved)
                {
                    OnEndpointLeft(endpoint, policy, EndpointTerminating);
                }
            }
        }
    }

    /// <summary>A listener was removed (its service, port or address is gone): it accepts no more; its connections follow the policy.</summary>
    public void OnListenerClosed(ServiceListener listener)
    {
        var connections = _all.ToArray().Where(c => ReferenceEquals(c.Listener, listener)).ToArray();
        if (connections.Length == 0)
        {
            return;
        }

        var route = listener.Route;
        var subject = listener.Key.ToString();
        switch (route.Policy.Drain)
        {
            case DrainPolicy.Close:
                CloseNow(route, connections, subject, ListenerRemoved);
                break;
            case DrainPolicy.Drain:
                StartDrain(route, route.Policy.DrainTimeout, subject, ListenerRemoved, connections.Length, timer => CloseAtDeadline(route, connections, subject, timer));
                break;
            default:
                Keep(route, connections.Length, subject, ListenerRemoved);
                break;
        }
    }

    private void OnEndpointLeft(EndpointState endpoint, ConnectionPolicy? policy, string trigger)
    {
        var set = endpoint.Connections;
        var open = set.ToArray();
        if (open.Length == 0 && policy is null)
        {
            return;
        }

        var route = open.Length > 0 ? open[0].Route : null;
        policy ??= route!.Policy;
        if (policy.Drain == DrainPolicy.Keep)
        {
            if (route is not null)
            {
                Keep(route, open.Length, endpoint.EndPoint.ToString(), trigger);
            }

            return;
        }

        if (!set.TryStartDrain(close: policy.Drain == DrainPolicy.Close))
        {
            // Terminating, then removed: the first trigger started the drain and its deadline stands.
            return;
        }

        var subject = endpoint.EndPoint.ToString();
        if (policy.Drain == DrainPolicy.Close)
        {
            // Closed to late registrations too: a connection that connected just before the route changed is reset as well.
            var closing = set.Close();
            if (closing.Length > 0)
            {
                CloseNow(closing[0].Route, closing, subject, trigger);
            }

            return;
        }

        if (route is not null)
        {
            StartDrain(route, policy.DrainTimeout, subject, trigger, open.Length, timer => CloseAtDeadline(route, set.Close(), subject, timer));
        }
        else
        {
            // Nothing open now; one may still register late (it connected just before the route changed): it gets the deadline too.
            Schedule(policy.DrainTimeout, timer =>
            {
                var late = set.Close();
                if (late.Length > 0)
                {
                    CloseAtDeadline(late[0].Route, late, subject, timer);
                }
            });
        }
    }

    private void Keep(PortRoute route, int count, string subject, string trigger)
    {
        if (count == 0)
        {
            return;
        }

        _metrics.DrainApplied(route, DrainPolicy.Keep, trigger);
        Log.KeptByPolicy(_logger, route.Service, subject, trigger, count);
    }

    private void CloseNow(PortRoute route, ForwardedConnection[] connections, string subject, string trigger)
    {
        _metrics.DrainApplied(route, DrainPolicy.Close, trigger);
        var closed = Terminate(connections, Termination.ClosePolicy, $"The {Describe(trigger)} (drain policy close).");
        if (closed > 0)
        {
            _metrics.Terminated(route, Termination.ClosePolicy, closed);
        }

        Log.ClosedByPolicy(_logger, route.Service, subject, trigger, closed);
    }

    private void StartDrain(PortRoute route, TimeSpan timeout, string subject, string trigger, int count, Action<ITimer> atDeadline)
    {
        _metrics.DrainApplied(route, DrainPolicy.Drain, trigger);
        Log.DrainStarted(_logger, route.Service, subject, trigger, count, timeout);
        Schedule(timeout, atDeadline);
    }

    private void CloseAtDeadline(PortRoute route, ForwardedConnection[] connections, string subject, ITimer timer)
    {
        var closed = Terminate(connections, Termination.DrainDeadline, "The drain deadline passed (drain policy drain).");
        if (closed > 0)
        {
            _metrics.Terminated(route, Termination.DrainDeadline, closed);
        }

        Log.DrainDeadlineReached(_logger, route.Service, subject, closed);
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
