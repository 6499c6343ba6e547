using FastProxy.Model;

namespace FastProxy.Health;

/// <summary>
/// One endpoint's health bookkeeping: the streaks of its active probes and of the forwarder's connects and
/// resets, and its ejections. It writes the outcome onto <see cref="EndpointState.Health"/> and tells its
/// owner, which logs, counts and has the service's routes rebuilt. The forwarder's hooks are a counter
/// increment or a read while nothing changes; a transition takes a lock (rare).
/// </summary>
internal sealed class EndpointHealthTracker : IDisposable
{
    private readonly Lock _sync = new();
    private readonly TimeProvider _time;
    private readonly IHealthEvents _events;
    private readonly OutlierDetectionPolicy? _outlier;

    // Active checks: written by the endpoint's prober (one probe at a time), under _sync.
    private int _probeSuccesses;
    private int _probeFailures;

    // Passive detection: written by any connection, hence Interlocked.
    private int _connectFailures;
    private int _resets;

    // Ejections, under _sync.
    private int _ejections;
    private long _restoredAt;
    private ITimer? _restoreTimer;
    private bool _disposed;

    public EndpointHealthTracker(EndpointState endpoint, HealthCheckPolicy? check, OutlierDetectionPolicy? outlier, TimeProvider time, IHealthEvents events)
    {
        Endpoint = endpoint;
        Check = check;
        _outlier = outlier;
        _time = time;
        _events = events;
    }

    public EndpointState Endpoint { get; }

    public HealthCheckPolicy? Check { get; }

    public OutlierDetectionPolicy? Outlier => _outlier;

    /// <summary>How many times outlier detection ejected the endpoint in the current streak (what the next ejection's length grows with).</summary>
    public int Ejections
    {
        get
        {
            lock (_sync)
            {
                return _ejections;
            }
        }
    }

    /// <summary>One active probe's outcome.</summary>
    public void OnProbeResult(bool healthy, string detail)
    {
        var check = Check;
        if (check is null)
        {
            return;
        }

        HealthEvent? change = null;
        var restore = false;
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            if (healthy)
            {
                _probeFailures = 0;
                _probeSuccesses++;
                if (_probeSuccesses >= check.HealthyThreshold && Endpoint.SetHealth(EndpointHealth.FailingChecks, on: false))
                {
                    change = HealthEvent.ChecksPassing;
                }

                // Envoy's successful_active_health_check_uneject_host: a passing check is proof enough.
                restore = (Endpoint.Health & EndpointHealth.Ejected) != 0;
            }
            else
            {
                _probeSuccesses = 0;
                _probeFailures++;
                if (_probeFailures >= check.UnhealthyThreshold && Endpoint.SetHealth(EndpointHealth.FailingChecks, on: true))
                {
                    change = HealthEvent.ChecksFailing;
                }
            }
        }

        if (change is { } happened)
        {
            _events.OnHealthChanged(this, happened, HealthReason.HealthCheck, detail, TimeSpan.Zero);
        }

        if (restore)
        {
            Restore(HealthReason.HealthCheck, "an active health check passed");
        }
    }

    /// <summary>A connect to the endpoint succeeded: the failure streak ends, and an ejected endpoint returns.</summary>
    public void OnConnected()
    {
        if (_outlier is null)
        {
            return;
        }

        if (Volatile.Read(ref _connectFailures) != 0)
        {
            Volatile.Write(ref _connectFailures, 0);
        }

        if ((Endpoint.Health & EndpointHealth.Ejected) != 0)
        {
            Restore(HealthReason.Success, "a connection to it succeeded");
        }
    }

    /// <summary>A connect to the endpoint failed or timed out.</summary>
    public void OnConnectFailed()
    {
        if (_outlier is { } outlier && Interlocked.Increment(ref _connectFailures) >= outlier.ConsecutiveFailures)
        {
            Eject(HealthReason.ConnectFailures, $"{outlier.ConsecutiveFailures} consecutive connect failures");
        }
    }

    /// <summary>
    /// A forwarded connection ended: reset by the endpoint (a failure) or not (the reset streak ends). Resets
    /// keep their own streak, since each such connection's connect succeeded and ended the connect streak.
    /// </summary>
    public void OnConnectionEnded(bool resetByEndpoint)
    {
        if (_outlier is not { } outlier)
        {
            return;
        }

        if (!resetByEndpoint)
        {
            if (Volatile.Read(ref _resets) != 0)
            {
                Volatile.Write(ref _resets, 0);
            }
        }
        else if (Interlocked.Increment(ref _resets) >= outlier.ConsecutiveFailures)
        {
            Eject(HealthReason.Resets, $"{outlier.ConsecutiveFailures} consecutive connections reset by the endpoint");
        }
    }

    /// <summary>The ejection length for the <paramref name="ejection"/>-th ejection in a streak: base × n, at most max (Envoy).</summary>
    public static TimeSpan EjectionTime(OutlierDetectionPolicy policy, int ejection)
    {
        var ticks = Math.Min(policy.BaseEjectionTime.Ticks * (long)ejection, policy.MaxEjectionTime.Ticks);
        return ticks < 0 ? policy.MaxEjectionTime : TimeSpan.FromTicks(ticks);
    }

    private void Eject(HealthReason reason, string detail)
    {
        var outlier = _outlier!;
        TimeSpan period;
        lock (_sync)
        {
            if (_disposed || !Endpoint.SetHealth(EndpointHealth.Ejected, on: true))
            {
                return;
            }

            // A streak of ejections ends once the endpoint has stayed in for the longest ejection time.
            if (_ejections > 0 && _time.GetElapsedTime(_restoredAt) >= outlier.MaxEjectionTime)
            {
                _ejections = 0;
            }

            _ejections++;
            period = EjectionTime(outlier, _ejections);
            Volatile.Write(ref _connectFailures, 0);
            Volatile.Write(ref _resets, 0);
            _restoreTimer?.Dispose();
            _restoreTimer = _time.CreateTimer(static state => ((EndpointHealthTracker)state!).Restore(HealthReason.EjectionExpired, "its ejection time ended"), this, period, Timeout.InfiniteTimeSpan);
        }

        _events.OnHealthChanged(this, HealthEvent.Ejected, reason, detail, period);
    }

    private void Restore(HealthReason reason, string detail)
    {
        lock (_sync)
        {
            if (_disposed || !Endpoint.SetHealth(EndpointHealth.Ejected, on: false))
            {
                return;
            }

            _restoredAt = _time.GetTimestamp();
            _restoreTimer?.Dispose();
            _restoreTimer = null;
        }

        _events.OnHealthChanged(this, HealthEvent.Restored, reason, detail, TimeSpan.Zero);
    }

    /// <summary>Stops the ejection timer; no more transitions are reported. The endpoint's health is left to the owner.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            _disposed = true;
            _restoreTimer?.Dispose();
            _restoreTimer = null;
        }
    }
}
