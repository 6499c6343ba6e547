using FastProxy.Model;
using Microsoft.Extensions.Time.Testing;
using static FastProxy.Health.Tests.HealthTestKit;

namespace FastProxy.Health.Tests;

public sealed class EndpointHealthTrackerTests
{
    private static readonly OutlierDetectionPolicy Outlier = new() { ConsecutiveFailures = 3, BaseEjectionTime = TimeSpan.FromSeconds(10), MaxEjectionTime = TimeSpan.FromSeconds(25) };

    [Fact]
    public void OnProbeResult_FailuresBelowThreshold_StayHealthy_ThenThresholdMarksFailing()
    {
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, new HealthCheckPolicy { UnhealthyThreshold = 3, HealthyThreshold = 2 }, null, new FakeTimeProvider(), events);

        tracker.OnProbeResult(false, "refused");
        tracker.OnProbeResult(false, "refused");
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);

        // A pass in between restarts the count.
        tracker.OnProbeResult(true, "ok");
        tracker.OnProbeResult(false, "refused");
        tracker.OnProbeResult(false, "refused");
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);

        tracker.OnProbeResult(false, "refused");
        Assert.Equal(EndpointHealth.FailingChecks, endpoint.Health);
        Assert.Equal([(HealthEvent.ChecksFailing, HealthReason.HealthCheck, TimeSpan.Zero)], events.Seen);
    }

    [Fact]
    public void OnProbeResult_UnhealthyEndpoint_ReturnsAfterHealthyThresholdPasses()
    {
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, new HealthCheckPolicy { UnhealthyThreshold = 1, HealthyThreshold = 2 }, null, new FakeTimeProvider(), events);
        tracker.OnProbeResult(false, "refused");
        Assert.Equal(EndpointHealth.FailingChecks, endpoint.Health);

        tracker.OnProbeResult(true, "ok");
        Assert.Equal(EndpointHealth.FailingChecks, endpoint.Health);
        tracker.OnProbeResult(true, "ok");
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
        Assert.Equal([HealthEvent.ChecksFailing, HealthEvent.ChecksPassing], events.Seen.Select(e => e.Change));
    }

    [Fact]
    public void OnConnectFailed_ConsecutiveFailures_EjectsForBaseTime_ThenReturns()
    {
        var time = new FakeTimeProvider();
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, null, Outlier, time, events);

        tracker.OnConnectFailed();
        tracker.OnConnectFailed();
        tracker.OnConnected(); // a success ends the streak
        tracker.OnConnectFailed();
        tracker.OnConnectFailed();
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);

        tracker.OnConnectFailed();
        Assert.Equal(EndpointHealth.Ejected, endpoint.Health);
        Assert.Equal((HealthEvent.Ejected, HealthReason.ConnectFailures, TimeSpan.FromSeconds(10)), events.Seen[^1]);

        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Equal(EndpointHealth.Ejected, endpoint.Health);
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
        Assert.Equal((HealthEvent.Restored, HealthReason.EjectionExpired, TimeSpan.Zero), events.Seen[^1]);
    }

    [Fact]
    public void Eject_Repeated_BackOffGrowsByBaseAndCapsAtMax()
    {
        var time = new FakeTimeProvider();
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, null, Outlier, time, events);

        var periods = new List<TimeSpan>();
        for (var ejection = 0; ejection < 4; ejection++)
        {
            FailConnects(tracker);

            Assert.Equal(EndpointHealth.Ejected, endpoint.Health);
            var period = events.Seen[^1].EjectedFor;
            periods.Add(period);

            // Still out just before the period ends, back right at its end.
            time.Advance(period - TimeSpan.FromMilliseconds(1));
            Assert.Equal(EndpointHealth.Ejected, endpoint.Health);
            time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
        }

        Assert.Equal([TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(25)], periods);
    }

    [Fact]
    public void Eject_AfterStayingInForMaxEjectionTime_StartsFromBaseAgain()
    {
        var time = new FakeTimeProvider();
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, null, Outlier, time, events);
        FailConnects(tracker);
        time.Advance(TimeSpan.FromSeconds(10));
        time.Advance(Outlier.MaxEjectionTime);
        FailConnects(tracker);
        Assert.Equal(TimeSpan.FromSeconds(10), events.Seen[^1].EjectedFor);
        Assert.Equal(1, tracker.Ejections);
    }

    [Fact]
    public void OnConnected_WhileEjected_RestoresAtOnce_AndTimerDoesNotFireTwice()
    {
        var time = new FakeTimeProvider();
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, null, Outlier, time, events);
        FailConnects(tracker);

        tracker.OnConnected();
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal([(HealthEvent.Ejected, HealthReason.ConnectFailures), (HealthEvent.Restored, HealthReason.Success)], events.Seen.Select(e => (e.Change, e.Reason)));
    }

    [Fact]
    public void OnConnectionEnded_ConsecutiveResets_Eject_EvenThoughEachConnectSucceeded()
    {
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, null, Outlier, new FakeTimeProvider(), events);
        for (var i = 0; i < Outlier.ConsecutiveFailures - 1; i++)
        {
            tracker.OnConnected();
            tracker.OnConnectionEnded(resetByEndpoint: true);
        }

        // A clean end restarts the count.
        tracker.OnConnectionEnded(resetByEndpoint: false);
        for (var i = 0; i < Outlier.ConsecutiveFailures - 1; i++)
        {
            tracker.OnConnected();
            tracker.OnConnectionEnded(resetByEndpoint: true);
        }

        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
        tracker.OnConnected();
        tracker.OnConnectionEnded(resetByEndpoint: true);
        Assert.Equal(EndpointHealth.Ejected, endpoint.Health);
        Assert.Equal(HealthReason.Resets, events.Seen[^1].Reason);
    }

    [Fact]
    public void OnProbeResult_PassWhileEjected_Restores()
    {
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, new HealthCheckPolicy(), Outlier, new FakeTimeProvider(), events);
        FailConnects(tracker);

        tracker.OnProbeResult(true, "ok");
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
        Assert.Equal((HealthEvent.Restored, HealthReason.HealthCheck), (events.Seen[^1].Change, events.Seen[^1].Reason));
    }

    [Fact]
    public void Hooks_WithoutOutlierPolicy_ChangeNothing()
    {
        var endpoint = Endpoint();
        var events = new RecordingEvents();
        using var tracker = new EndpointHealthTracker(endpoint, new HealthCheckPolicy(), null, new FakeTimeProvider(), events);
        for (var i = 0; i < 100; i++)
        {
            tracker.OnConnectFailed();
            tracker.OnConnectionEnded(resetByEndpoint: true);
        }

        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
        Assert.Empty(events.Seen);
    }

    [Fact]
    public void ForwarderHooks_WhileNothingChanges_AllocateNothing()
    {
        var endpoint = Endpoint();
        using var tracker = new EndpointHealthTracker(endpoint, null, Outlier with { ConsecutiveFailures = 1000 }, new FakeTimeProvider(), new RecordingEvents());
        endpoint.HealthTracker = tracker;
        endpoint.OnConnecting();
        endpoint.OnConnected();
        tracker.OnConnectionEnded(resetByEndpoint: false);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 500; i++)
        {
            endpoint.OnConnecting();
            endpoint.OnConnectFailed();
            endpoint.OnConnecting();
            endpoint.OnConnected();
            tracker.OnConnectionEnded(resetByEndpoint: i % 2 == 0);
            endpoint.OnConnectionClosed();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
    }

    /// <summary>As many failed connects in a row as eject an endpoint.</summary>
    private static void FailConnects(EndpointHealthTracker tracker)
    {
        for (var i = 0; i < Outlier.ConsecutiveFailures; i++)
        {
            tracker.OnConnectFailed();
        }
    }
}
