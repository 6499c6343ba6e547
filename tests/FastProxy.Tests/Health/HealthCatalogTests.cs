using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Health.Tests;

/// <summary>Routes under health: unhealthy endpoints leave them, panic keeps all, and a health change rebuilds one service only.</summary>
public sealed class HealthCatalogTests
{
    private static readonly NamespacedName WebId = new("default", "web");
    private static readonly NamespacedName ApiId = new("default", "api");

    private static Service WebService(int panicThreshold = 0, HealthCheckPolicy? check = null) => new()
    {
        Name = "web",
        Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "web" }),
        Ports = [new ServicePort { Name = "http", Port = 80, TargetPort = 8080 }, new ServicePort { Name = "admin", Port = 81, TargetPort = 9090 }],
        HealthCheck = check ?? new HealthCheckPolicy(),
        PanicThreshold = panicThreshold,
    };

    private static Service ApiService() => new()
    {
        Name = "api",
        Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "api" }),
        Ports = [new ServicePort { Port = 80, TargetPort = 8080 }],
        Balancer = Balancing.BalancingStrategies.Maglev,
    };

    private static Pod PodOf(string app, int host) => new()
    {
        Name = $"{app}-{host}",
        Address = IPAddress.Parse($"10.1.{(app == "web" ? 1 : 2)}.{host}"),
        Labels = new Dictionary<string, string> { ["app"] = app },
    };

    private static ServiceCatalog CatalogWith(Service web, int webPods = 3)
    {
        var catalog = new ServiceCatalog();
        var update = new CatalogUpdate().SetService(web).SetService(ApiService());
        for (var i = 1; i <= webPods; i++)
        {
            update.SetPod(PodOf("web", i));
        }

        update.SetPod(PodOf("api", 1)).SetPod(PodOf("api", 2));
        catalog.Apply(update);
        return catalog;
    }

    [Fact]
    public void RefreshRoutes_AfterHealthChange_RebuildsOnlyThatServicePort()
    {
        var catalog = CatalogWith(WebService());
        var before = catalog.Current;
        var api = before.Services[ApiId];
        var web = before.Services[WebId];
        var sick = web.Ports[0].AllEndpoints[1];
        var changes = new List<CatalogChangedEventArgs>();
        catalog.Changed += (_, e) => changes.Add(e);

        Assert.True(sick.SetHealth(EndpointHealth.FailingChecks, on: true));
        var after = catalog.RefreshRoutes(WebId);

        Assert.Equal(before.Version + 1, after.Version);
        Assert.Equal([WebId], after.ChangedServices.ToArray());
        var route = after.Services[WebId].Ports[0].Internal;
        Assert.Equal(2, route.Endpoints.Length);
        Assert.DoesNotContain(sick, route.Endpoints);
        Assert.False(route.InPanic);

        // The endpoint stays, with its counters; the other port, the other service and its picker are the same instances.
        Assert.Same(sick, after.Services[WebId].Ports[0].AllEndpoints[1]);
        Assert.Same(web.Ports[1], after.Services[WebId].Ports[1]);
        Assert.Same(api, after.Services[ApiId]);
        Assert.Same(api.Ports[0].Internal.Picker, after.Services[ApiId].Ports[0].Internal.Picker);
        var change = Assert.Single(Assert.Single(changes).Changes);
        Assert.Equal((WebId, ServiceChangeKind.Updated), (change.Service, change.Kind));
        Assert.Empty(change.RemovedEndpoints);

        // Nothing changed since: no new version.
        Assert.Same(after, catalog.RefreshRoutes(WebId));

        Assert.True(sick.SetHealth(EndpointHealth.FailingChecks, on: false));
        Assert.Equal(3, catalog.RefreshRoutes(WebId).Services[WebId].Ports[0].Internal.Endpoints.Length);
    }

    [Fact]
    public void Routes_EveryEndpointUnhealthy_PanicOverAll_AndCountEachEntryOnce()
    {
        var catalog = CatalogWith(WebService());
        var endpoints = catalog.Current.Services[WebId].Ports[0].AllEndpoints;
        foreach (var endpoint in endpoints)
        {
            endpoint.SetHealth(EndpointHealth.Ejected, on: true);
        }

        var route = catalog.RefreshRoutes(WebId).Services[WebId].Ports[0].Internal;
        Assert.True(route.InPanic);
        Assert.Equal(endpoints.ToArray(), route.Endpoints.ToArray());
        Assert.NotNull(route.Picker);
        Assert.Equal(1, route.PanicCount);

        endpoints[0].SetHealth(EndpointHealth.Ejected, on: false);
        route = catalog.RefreshRoutes(WebId).Services[WebId].Ports[0].Internal;
        Assert.False(route.InPanic);
        Assert.Equal([endpoints[0]], route.Endpoints.ToArray());
        Assert.Equal(1, route.PanicCount);

        endpoints[0].SetHealth(EndpointHealth.Ejected, on: true);
        route = catalog.RefreshRoutes(WebId).Services[WebId].Ports[0].Internal;
        Assert.True(route.InPanic);
        Assert.Equal(2, route.PanicCount);
    }

    [Fact]
    public void Routes_SingleEndpointTurningUnhealthy_EntersPanic_ThoughTheSetIsTheSame()
    {
        var catalog = CatalogWith(WebService(), webPods: 1);
        var endpoint = catalog.Current.Services[WebId].Ports[0].AllEndpoints[0];
        endpoint.SetHealth(EndpointHealth.FailingChecks, on: true);
        var route = catalog.RefreshRoutes(WebId).Services[WebId].Ports[0].Internal;
        Assert.True(route.InPanic);
        Assert.Equal([endpoint], route.Endpoints.ToArray());
    }

    [Theory]
    [InlineData(0, 1, false, 1)]
    [InlineData(34, 1, true, 3)]
    [InlineData(33, 1, false, 1)]
    [InlineData(50, 2, false, 2)]
    [InlineData(100, 2, true, 3)]
    public void Routes_PanicThreshold_ComparesTheHealthyShare(int threshold, int healthy, bool panic, int routed)
    {
        var catalog = CatalogWith(WebService(threshold));
        var endpoints = catalog.Current.Services[WebId].Ports[0].AllEndpoints;
        for (var i = healthy; i < endpoints.Length; i++)
        {
            endpoints[i].SetHealth(EndpointHealth.FailingChecks, on: true);
        }

        var route = catalog.RefreshRoutes(WebId).Services[WebId].Ports[0].Internal;
        Assert.Equal((panic, routed), (route.InPanic, route.Endpoints.Length));
    }

    [Fact]
    public void Routes_WithoutHealthPolicy_IgnoreHealthFlags()
    {
        var catalog = CatalogWith(WebService() with { HealthCheck = null });
        var endpoints = catalog.Current.Services[WebId].Ports[0].AllEndpoints;
        endpoints[0].SetHealth(EndpointHealth.FailingChecks, on: true);
        var before = catalog.Current;
        Assert.Same(before, catalog.RefreshRoutes(WebId));
        Assert.Equal(3, before.Services[WebId].Ports[0].Internal.Endpoints.Length);
    }

    [Fact]
    public void RefreshRoutes_FromInsideAChangeHandler_Throws()
    {
        var catalog = CatalogWith(WebService());
        Exception? thrown = null;
        catalog.Changed += (_, _) => thrown ??= Record.Exception(() => catalog.RefreshRoutes(WebId));
        catalog.SetPod(PodOf("web", 9));
        Assert.IsType<InvalidOperationException>(thrown);
    }
}
