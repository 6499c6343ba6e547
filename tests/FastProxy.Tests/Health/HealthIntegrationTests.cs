using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Services.Tests;
using FastProxy.Tests;

namespace FastProxy.Health.Tests;

/// <summary>Health checking, outlier detection, panic and the health-check node port through a real proxy over loopback.</summary>
public sealed class HealthIntegrationTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    // Fast checks, so the tests take well under a second per transition; no jitter, one pass brings an endpoint back.
    private static readonly HealthCheckPolicy FastTcp = new()
    {
        Interval = TimeSpan.FromMilliseconds(150),
        Timeout = TimeSpan.FromMilliseconds(150),
        UnhealthyThreshold = 2,
        HealthyThreshold = 1,
        JitterPercent = 0,
    };

    [Fact]
    public async Task ActiveCheck_PodStopsAnswering_IsEjected_ClientsSeeNoFailure_ThenItReturns()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await host.StartAsync(host.WebService(pods[0].EndPoint.Port) with { HealthCheck = FastTcp }, pods);
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        var stopped = pods[0].EndPoint;
        var endpoint = EndpointAt(host, stopped);

        // The pod stops answering: its listener closes. Clients keep being served, first by retries, then because it left the route.
        await pods[0].DisposeAsync();
        Assert.All(await ServiceTestHost.ServedAsync(host.VirtualEndPoint, 10), served => Assert.Equal("pod-2", served));
        await WaitUntilAsync(() => !Route(host).Endpoints.Contains(endpoint), "the stopped pod leaves the route");
        Assert.Equal(EndpointHealth.FailingChecks, endpoint.Health);
        Assert.Same(endpoint, host.Snapshot().Ports[0].AllEndpoints[0]);
        var failedBefore = endpoint.FailedConnects;
        Assert.All(await ServiceTestHost.ServedAsync(host.VirtualEndPoint, 20), served => Assert.Equal("pod-2", served));
        Assert.Equal(failedBefore, endpoint.FailedConnects);

        // It comes back on the same address and port: one passing check brings it back.
        host.StartBackend("pod-1", 1, stopped.Port);
        await WaitUntilAsync(() => Route(host).Endpoints.Contains(endpoint), "the recovered pod rejoins the route");
        Assert.Equal(EndpointHealth.Healthy, endpoint.Health);
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }

    [Fact]
    public async Task HttpCheck_PodAnswering500_IsUnhealthy_UntilItAnswers200()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await using var sick = HttpStatusBackend.Start(new IPEndPoint(host.At(1), 0));
        await using var well = HttpStatusBackend.Start(new IPEndPoint(host.At(2), sick.EndPoint.Port));
        sick.Status = 500;
        var check = FastTcp with { Protocol = HealthCheckProtocol.Http, Path = "/healthz?full=1", Port = sick.EndPoint.Port };
        await host.StartAsync(host.WebService(pods[0].EndPoint.Port) with { HealthCheck = check }, pods);
        var sickEndpoint = EndpointAt(host, pods[0].EndPoint);
        var wellEndpoint = EndpointAt(host, pods[1].EndPoint);

        await WaitUntilAsync(() => !Route(host).Endpoints.Contains(sickEndpoint), "the pod answering 500 leaves the route");
        await WaitUntilAsync(() => well.Requests >= 3, "the healthy pod is probed");
        Assert.Equal(EndpointHealth.FailingChecks, sickEndpoint.Health);
        Assert.Equal(EndpointHealth.Healthy, wellEndpoint.Health);
        Assert.Equal("/healthz?full=1", well.LastPath);
        Assert.All(await ServiceTestHost.ServedAsync(host.VirtualEndPoint, 6), served => Assert.Equal("pod-2", served));

        sick.Status = 204;
        await WaitUntilAsync(() => Route(host).Endpoints.Contains(sickEndpoint), "the pod answering 204 rejoins");
    }

    [Fact]
    public async Task OutlierDetection_ConsecutiveConnectFailures_Eject_WithoutTouchingOtherServices()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var other = host.StartBackend("api-1", 3, pods[0].EndPoint.Port);
        var outlier = new OutlierDetectionPolicy { ConsecutiveFailures = 2, BaseEjectionTime = TimeSpan.FromMinutes(5), MaxEjectionTime = TimeSpan.FromMinutes(10) };
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(new Service { Name = "api", Selector = ServiceTestHost.AppSelector("api"), Ports = [new ServicePort { Port = 80, TargetPort = other.EndPoint.Port }] })
            .SetPod(ServiceTestHost.PodOf(other, "api")));
        await host.StartAsync(host.WebService(pods[0].EndPoint.Port) with { OutlierDetection = outlier }, pods);
        var apiId = new NamespacedName("default", "api");
        var api = host.Catalog.Current.Services[apiId];
        var endpoint = EndpointAt(host, pods[0].EndPoint);

        await pods[0].DisposeAsync();
        for (var i = 0; i < 20 && endpoint.Health == EndpointHealth.Healthy; i++)
        {
            Assert.Equal("pod-2", await TestClient.WhoServesAsync(host.VirtualEndPoint));
        }

        Assert.Equal(EndpointHealth.Ejected, endpoint.Health);
        Assert.Equal(2, endpoint.FailedConnects);
        await WaitUntilAsync(() => !Route(host).Endpoints.Contains(endpoint), "the ejected pod leaves the route");
        Assert.All(await ServiceTestHost.ServedAsync(host.VirtualEndPoint, 10), served => Assert.Equal("pod-2", served));
        Assert.Equal(2, endpoint.FailedConnects);
        Assert.Same(api, host.Catalog.Current.Services[apiId]);
    }

    [Fact]
    public async Task Panic_EveryPodDown_BalancesOverAllOfThem_RatherThanRefuse()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await host.StartAsync(host.WebService(pods[0].EndPoint.Port) with { HealthCheck = FastTcp }, pods);
        var endpoints = host.Snapshot().Ports[0].AllEndpoints;
        var port = pods[0].EndPoint.Port;
        foreach (var pod in pods)
        {
            await pod.DisposeAsync();
        }

        await WaitUntilAsync(() => endpoints.All(e => e.Health == EndpointHealth.FailingChecks) && Route(host).InPanic, "the route panics");
        Assert.Equal(endpoints.ToArray(), Route(host).Endpoints.ToArray());

        // The connection is attempted to every endpoint (neither answers), instead of being refused outright.
        var before = endpoints.Select(e => e.FailedConnects).ToArray();
        Assert.Contains(await ServiceTestHost.OutcomeAsync(host.VirtualEndPoint), new[] { ServiceTestHost.Reset, ServiceTestHost.Closed });
        Assert.All(endpoints.Select((e, i) => e.FailedConnects - before[i]), added => Assert.True(added >= 1));

        // One pod returns: panic ends and it takes the traffic.
        host.StartBackend("pod-2", 2, port);
        await WaitUntilAsync(() => !Route(host).InPanic, "panic ends");
        Assert.Equal([endpoints[1]], Route(host).Endpoints.ToArray());
        Assert.Equal("pod-2", await TestClient.WhoServesAsync(host.VirtualEndPoint));
    }

    [Fact]
    public async Task HealthCheckNodePort_Answers200WithLocalCount_Then503WithNone()
    {
        await using var host = ServiceTestHost.Create(ServiceTestHost.OnNodeA);
        var pods = host.StartBackends(2);
        var service = host.WebService(pods[0].EndPoint.Port) with { Type = ServiceType.LoadBalancer, ExternalTrafficPolicy = TrafficPolicy.Local };
        var update = new CatalogUpdate().SetService(service)
            .SetPod(ServiceTestHost.PodOf(pods[0]) with { NodeName = ServiceTestHost.NodeName })
            .SetPod(ServiceTestHost.PodOf(pods[1]) with { NodeName = "node-b" });
        host.Catalog.Apply(update);
        await host.StartProxyAsync();
        var port = host.Snapshot().HealthCheckNodePort;
        Assert.InRange(port, 30000, 32767);
        var url = new Uri($"http://{host.NodeAddress}:{port}/healthz");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using (var response = await http.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("1", Assert.Single(response.Headers.GetValues("X-Load-Balancing-Endpoint-Weight")));
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("default", json.RootElement.GetProperty("service").GetProperty("namespace").GetString());
            Assert.Equal("web", json.RootElement.GetProperty("service").GetProperty("name").GetString());
            Assert.Equal(1, json.RootElement.GetProperty("localEndpoints").GetInt32());
            Assert.True(json.RootElement.GetProperty("serviceProxyHealthy").GetBoolean());
        }

        // The local pod goes away: 503 with none.
        await host.ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", "pod-1")));
        using (var response = await http.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(0, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("localEndpoints").GetInt32());
        }

        // The service goes away: nothing listens there any more.
        await host.ApplyAsync(new CatalogUpdate().RemoveService(ServiceTestHost.WebId));
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(url));
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(refused.InnerException).SocketErrorCode);
    }

    private static PortRoute Route(ServiceTestHost host) => host.Snapshot().Ports[0].Internal;

    private static EndpointState EndpointAt(ServiceTestHost host, IPEndPoint endPoint)
        => host.Snapshot().Ports[0].AllEndpoints.Single(e => e.EndPoint.Equals(endPoint));

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var started = DateTime.UtcNow;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow - started < Deadline, $"Timed out waiting until {what}.");
            await Task.Delay(20);
        }
    }
}
