using System.Net;
using FastProxy.Model;

namespace FastProxy.Health;

/// <summary>
/// Probes one endpoint on its service's schedule: the first probe at a random point of the first interval
/// (so a restart does not probe every endpoint at once), then one interval plus jitter after each probe
/// ends, so at most one probe per endpoint is ever in flight. Everything waits on the
/// <see cref="TimeProvider"/>, so a fake clock drives it in tests.
/// </summary>
internal sealed class EndpointProber : IAsyncDisposable
{
    private readonly Lock _sync = new();
    private readonly EndpointHealthTracker _tracker;
    private readonly HealthCheckPolicy _policy;
    private readonly IHealthProbe _probe;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly Action<EndpointHealthTracker, ProbeResult, TimeSpan> _probed;
    private readonly CancellationTokenSource _stop = new();
    private readonly IPEndPoint _target;
    private ITimer? _timer;
    private Task _running = Task.CompletedTask;
    private bool _stopped;

    public EndpointProber(EndpointHealthTracker tracker, HealthCheckPolicy policy, IHealthProbe probe, TimeProvider time, Func<double> random, Action<EndpointHealthTracker, ProbeResult, TimeSpan> probed)
    {
        _tracker = tracker;
        _policy = policy;
        _probe = probe;
        _time = time;
        _random = random;
        _probed = probed;
        var endpoint = tracker.Endpoint.EndPoint;
        _target = policy.Port == 0 ? endpoint : new IPEndPoint(endpoint.Address, policy.Port);
    }

    /// <summary>The address and port probed.</summary>
    public IPEndPoint Target => _target;

    /// <summary>The wait before the first probe: uniform in [0, interval).</summary>
    public static TimeSpan FirstDelay(HealthCheckPolicy policy, double random) => policy.Interval * Math.Clamp(random, 0, 1);

    /// <summary>The wait after a probe: the interval plus up to <see cref="HealthCheckPolicy.JitterPercent"/> of it.</summary>
    public static TimeSpan NextDelay(HealthCheckPolicy policy, double random) => policy.Interval + (policy.Interval * (policy.JitterPercent / 100.0) * Math.Clamp(random, 0, 1));

    public void Start()
    {
        lock (_sync)
        {
            _timer ??= _time.CreateTimer(static state => ((EndpointProber)state!).OnDue(), this, FirstDelay(_policy, _random()), Timeout.InfiniteTimeSpan);
        }
    }

    private void OnDue()
    {
        lock (_sync)
        {
            if (_stopped)
            {
                return;
            }

            // Started under the lock so DisposeAsync awaits every probe that began. A probe that completes at
            // once (a scripted one under a fake clock) runs through here; what it calls must not wait for a lock
            // held around DisposeAsync (the monitor's transition handler takes none).
            _running = ProbeOnceAsync();
        }
    }

    private async Task ProbeOnceAsync()
    {
        ProbeResult result;
        var started = _time.GetTimestamp();
        using (var timeout = new CancellationTokenSource(_policy.Timeout, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, timeout.Token))
        {
            try
            {
                result = await _probe.ProbeAsync(_target, _policy, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                result = ProbeResult.Down($"timed out after {_policy.Timeout.TotalMilliseconds:0} ms");
            }
#pragma warning disable CA1031 // Whatever a probe throws, the endpoint did not answer as it should.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                result = ProbeResult.Down(ex.Message);
            }
        }

        var duration = _time.GetElapsedTime(started);
        _tracker.OnProbeResult(result.Healthy, result.Detail);
        lock (_sync)
        {
            if (!_stopped)
            {
                _timer?.Change(NextDelay(_policy, _random()), Timeout.InfiniteTimeSpan);
            }
        }

        // Reported last, so whoever sees the result also sees the next probe scheduled.
        _probed(_tracker, result, duration);
    }

    /// <summary>Stops probing; an in-flight probe is cancelled and awaited, so no task outlives the prober.</summary>
    public async ValueTask DisposeAsync()
    {
        Task running;
        lock (_sync)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            _timer?.Dispose();
            running = _running;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await running.ConfigureAwait(false);
        }
        finally
        {
            _stop.Dispose();
        }
    }
}
