using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Services.Tests;
using FastProxy.Tests;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace FastProxy.Health.Tests;

/// <summary>
/// The health monitor and the health-check node port server as followers of the catalog: versions applied in
/// order at start-up, health flags that end with the monitor, and health-only versions that retry no bind.
/// No clock moves (a fake one), so no prober ever probes.
/// </summary>
public sealed class HealthFollowerTests
{
    private static readonly NamespacedName ApiId = new("default", "api");
    private static readonly OutlierDetectionPolicy Outlier = new() { ConsecutiveFailures = 2 };

    [Fact]
    public async Task Monitor_StartupReconcileOlderThanAChangeAlreadyApplied_LeavesTheRemovedServiceUnwatched()
    {
        await using var host = ServiceTestHost.Create(o => o.TimeProvider = new FakeTimeProvider());
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(WebService(host) with { HealthCheck = new HealthCheckPolicy() })
            .SetService(ApiService() with { OutlierDetection = Outlier })
            .SetPod(Pod(host, "web", 1)).SetPod(Pod(host, "api", 2)));
        var older = host.Catalog.Current;
        var removed = host.Catalog.RemoveService(ServiceTestHost.WebId);
        using var meter = new Meter(nameof(HealthFollowerTests));
        await using var monitor = NewMonitor(host.Catalog, meter);

        // The server subscribed, the removal was notified first, then the start-up reconcile ran with what it had read before.
        monitor.ApplyChanges(removed);
        monitor.ApplyAll(older);

        Assert.All(older.Services[ServiceTestHost.WebId].Ports[0].AllEndpoints, e => Assert.Null(e.HealthTracker));

        // The first version notified came after a gap, so it reconciled every service, not only the one it changed.
        Assert.All(removed.Services[ApiId].Ports[0].AllEndpoints, e => Assert.NotNull(e.HealthTracker));
    }

    [Fact]
    public async Task HealthCheckNodePort_StartupReconcileOlderThanAChangeAlreadyApplied_BindsNothingForTheRemovedService()
    {
        await using var host = ServiceTestHost.Create();
        host.Catalog.Apply(new CatalogUpdate().SetService(LocalLoadBalancer(host)).SetPod(Pod(host, "web", 1)));
        var older = host.Catalog.Current;
        Assert.NotEqual(0, older.Services[ServiceTestHost.WebId].HealthCheckNodePort);
        var removed = host.Catalog.RemoveService(ServiceTestHost.WebId);
        await using var server = new HealthCheckNodePortServer(host.Catalog, NullLogger.Instance);

        server.ApplyChanges(removed);
        server.ApplyAll(older);

        Assert.Empty(server.EndPoints);
    }

    [Fact]
    public async Task Monitor_Disposed_ClearsTheEjectionItMade_AndRoutesTakeTheEndpointAgain()
    {
        await using var host = ServiceTestHost.Create(o => o.TimeProvider = new FakeTimeProvider());
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(WebService(host) with { OutlierDetection = Outlier })
            .SetPod(Pod(host, "web", 1)).SetPod(Pod(host, "web", 2)));
        using var meter = new Meter(nameof(HealthFollowerTests));
        var monitor = NewMonitor(host.Catalog, meter);
        monitor.ApplyAll(host.Catalog.Current);
        var ejected = host.Snapshot().Ports[0].AllEndpoints[0];
        for (var i = 0; i < Outlier.ConsecutiveFailures; i++)
        {
            ejected.HealthTracker!.OnConnectFailed();
        }

        Assert.Equal(EndpointHealth.Ejected, ejected.Health);

        // The proxy stops: no restore timer is left, so nothing else would ever bring the endpoint back.
        await monitor.DisposeAsync();

        Assert.Equal(EndpointHealth.Healthy, ejected.Health);
        Assert.Null(ejected.HealthTracker);
        Assert.Contains(ejected, host.Snapshot().Ports[0].Internal.Endpoints);

        // A server started later on the same catalog starts from healthy endpoints.
        await using var next = NewMonitor(host.Catalog, meter);
        next.ApplyAll(host.Catalog.Current);
        Assert.Equal(2, host.Snapshot().Ports[0].Internal.Endpoints.Length);
    }

    [Fact]
    public async Task Monitor_WatchingAnEndpointWithFlagsNobodyOwns_StartsItHealthy()
    {
        await using var host = ServiceTestHost.Create(o => o.TimeProvider = new FakeTimeProvider());
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(WebService(host) with { OutlierDetection = Outlier })
            .SetPod(Pod(host, "web", 1)).SetPod(Pod(host, "web", 2)));
        var stale = host.Snapshot().Ports[0].AllEndpoints[0];
        stale.SetHealth(EndpointHealth.Ejected, on: true);
        using var meter = new Meter(nameof(HealthFollowerTests));
        await using var monitor = NewMonitor(host.Catalog, meter);

        monitor.ApplyAll(host.Catalog.Current);

        Assert.Equal(EndpointHealth.Healthy, stale.Health);
        Assert.NotNull(stale.HealthTracker);
    }

    [Fact]
    public async Task HealthCheckNodePort_ThatCannotBind_IsNotRetriedOnHealthOnlyVersions_ButOnTheServicesNextChange()
    {
        await using var host = ServiceTestHost.Create();
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(LocalLoadBalancer(host) with { OutlierDetection = Outlier })
            .SetPod(Pod(host, "web", 1)).SetPod(Pod(host, "web", 2)));
        var port = host.Snapshot().HealthCheckNodePort;
        using var occupant = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        occupant.Bind(new IPEndPoint(host.NodeAddress, port));
        occupant.Listen(1);
        using var logs = new ListLoggerProvider();
        await using var server = new HealthCheckNodePortServer(host.Catalog, logs.CreateLogger("test"));
        host.Catalog.Changed += (_, e) => server.ApplyChanges(e.Snapshot);
        server.ApplyAll(host.Catalog.Current);
        Assert.Equal(1, BindFailures(logs));

        // An endpoint flaps: two health-only versions.
        var flapping = host.Snapshot().Ports[0].AllEndpoints[0];
        var versionBefore = host.Catalog.Current.Version;
        flapping.SetHealth(EndpointHealth.Ejected, on: true);
        host.Catalog.RefreshRoutes(ServiceTestHost.WebId);
        flapping.SetHealth(EndpointHealth.Ejected, on: false);
        host.Catalog.RefreshRoutes(ServiceTestHost.WebId);
        Assert.Equal(versionBefore + 2, host.Catalog.Current.Version);
        Assert.Equal(1, BindFailures(logs));

        // A real change of the service retries the bind.
        host.Catalog.RemovePod(new NamespacedName("default", "web-2"));
        Assert.Equal(2, BindFailures(logs));
    }

    private static HealthMonitor NewMonitor(ServiceCatalog catalog, Meter meter)
        => new(catalog, new NeverProbed(), NullLogger.Instance, new HealthMetrics(meter, catalog));

    private static int BindFailures(ListLoggerProvider logs) => logs.Messages.Count(m => m.Contains("cannot listen for health checks", StringComparison.Ordinal));

    private static Service WebService(ServiceTestHost host) => host.WebService(8080);

    private static Service LocalLoadBalancer(ServiceTestHost host)
        => WebService(host) with { Type = ServiceType.LoadBalancer, ExternalTrafficPolicy = TrafficPolicy.Local };

    private static Service ApiService() => new()
    {
        Name = "api",
        Selector = ServiceTestHost.AppSelector("api"),
        Ports = [new ServicePort { Port = 80, TargetPort = 8080 }],
    };

    private static Pod Pod(ServiceTestHost host, string app, int hostNumber) => new()
    {
        Name = $"{app}-{hostNumber}",
        Address = host.At(hostNumber),
        Labels = new Dictionary<string, string> { ["app"] = app },
    };

    /// <summary>The clock never moves in these tests, so no probe is ever due.</summary>
    private sealed class NeverProbed : IHealthProbe
    {
        public ValueTask<ProbeResult> ProbeAsync(IPEndPoint target, HealthCheckPolicy policy, CancellationToken cancellationToken)
            => throw new InvalidOperationException("No probe is due while the fake clock stands still.");
    }
}
