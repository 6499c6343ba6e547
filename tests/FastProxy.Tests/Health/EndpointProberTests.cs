using System.Net;
using FastProxy.Model;
using Microsoft.Extensions.Time.Testing;
using static FastProxy.Health.Tests.HealthTestKit;

namespace FastProxy.Health.Tests;

public sealed class EndpointProberTests
{
    private static readonly HealthCheckPolicy Policy = new() { Interval = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromSeconds(2), JitterPercent = 20, UnhealthyThreshold = 2, HealthyThreshold = 1 };

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.999999)]
    public void Delays_StayWithinIntervalAndJitterBounds(double random)
    {
        var first = EndpointProber.FirstDelay(Policy, random);
        var next = EndpointProber.NextDelay(Policy, random);
        Assert.InRange(first, TimeSpan.Zero, Policy.Interval);
        Assert.InRange(next, Policy.Interval, Policy.Interval * 1.2);
        Assert.Equal(Policy.Interval * (1 + (0.2 * random)), next);
    }

    [Fact]
    public async Task Probes_RunOnTheClock_AndFeedTheTracker()
    {
        var time = new FakeTimeProvider();
        var probe = new ScriptedProbe { Healthy = false };
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, Policy, null, time, events);

        // random 0.5: first probe at 5 s, then every 10 s + 1 s of jitter.
        await using var prober = new EndpointProber(tracker, Policy, probe, time, () => 0.5, static (_, _, _) => { });
        prober.Start();
        time.Advance(TimeSpan.FromSeconds(4.999));
        Assert.Equal(0, probe.Calls);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, probe.Calls);
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);

        time.Advance(TimeSpan.FromSeconds(10.999));
        Assert.Equal(1, probe.Calls);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, probe.Calls);
        Assert.Equal(EndpointHealth.FailingChecks, endpoint.Health);

        probe.Healthy = true;
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(3, probe.Calls);
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
        Assert.Equal(new IPEndPoint(endpoint.EndPoint.Address, 8080), probe.LastTarget);
    }

    [Fact]
    public async Task Probe_ThatHangs_FailsAtTheTimeout_AndTheNextWaitStartsAfterIt()
    {
        var time = new FakeTimeProvider();
        var probe = new ScriptedProbe { Hang = true };
        var endpoint = Endpoint();
        var results = new List<ProbeResult>();
        using var tracker = new EndpointHealthTracker(endpoint, Policy with { UnhealthyThreshold = 1 }, null, time, new RecordingEvents());
        await using var prober = new EndpointProber(tracker, Policy, probe, time, () => 0, (_, result, _) => results.Add(result));
        prober.Start();
        time.Advance(TimeSpan.Zero);
        Assert.Equal(1, probe.Calls);
        Assert.Empty(results);

        time.Advance(Policy.Timeout);
        await WaitForAsync(() => results.Count == 1);
        Assert.False(results[0].Healthy);
        Assert.Contains("timed out", results[0].Detail, StringComparison.Ordinal);
        Assert.Equal(EndpointHealth.FailingChecks, endpoint.Health);

        // One probe at a time: the next starts an interval after the timed-out one ended.
        time.Advance(Policy.Interval - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, probe.Calls);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, probe.Calls);
    }

    [Fact]
    public async Task DisposeAsync_CancelsTheProbeInFlight_AndProbesNoMore()
    {
        var time = new FakeTimeProvider();
        var probe = new ScriptedProbe { Hang = true };
        using var tracker = new EndpointHealthTracker(Endpoint(), Policy, null, time, new RecordingEvents());
        var prober = new EndpointProber(tracker, Policy, probe, time, () => 0, static (_, _, _) => { });
        prober.Start();
        time.Advance(TimeSpan.Zero);
        Assert.Equal(1, probe.Calls);

        await prober.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(probe.LastToken.IsCancellationRequested);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(1, probe.Calls);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    /// <summary>A probe that answers as told, at once, or never (until cancelled).</summary>
    private sealed class ScriptedProbe : IHealthProbe
    {
        public bool Healthy { get; set; } = true;

        public bool Hang { get; set; }

        public int Calls { get; private set; }

        public IPEndPoint? LastTarget { get; private set; }

        public CancellationToken LastToken { get; private set; }

        public async ValueTask<ProbeResult> ProbeAsync(IPEndPoint target, HealthCheckPolicy policy, CancellationToken cancellationToken)
        {
            Calls++;
            LastTarget = target;
            LastToken = cancellationToken;
            if (Hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return new ProbeResult(Healthy, Healthy ? "ok" : "down");
        }
    }
}
