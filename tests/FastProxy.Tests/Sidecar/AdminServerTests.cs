using System.Net;
using System.Text.Json;
using FastProxy.Sidecar.Admin;
using FastProxy.Tests;

namespace FastProxy.Sidecar.Tests;

/// <summary>The admin HTTP API over real loopback sockets, after real connections through the proxy.</summary>
public sealed class AdminServerTests
{
    [Fact]
    public async Task Healthz_IsOkPlainText()
    {
        await using var env = await AdminTestEnvironment.StartAsync();

        using var response = await env.GetAsync("healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("ok\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ApiServices_ShowsBothServices_WithTypesPortsListenersAndPolicies()
    {
        await using var env = await AdminTestEnvironment.StartAsync();

        using var response = await env.GetAsync("api/services");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;

        Assert.Equal(env.Catalog.Current.Version, root.GetProperty("catalogVersion").GetInt64());
        var services = root.GetProperty("services").EnumerateArray().ToList();
        Assert.Equal(["api", "web"], services.Select(s => s.GetProperty("name").GetString()));

        var web = services.Single(s => s.GetProperty("name").GetString() == "web");
        Assert.Equal("default", web.GetProperty("namespace").GetString());
        Assert.Equal("ClusterIP", web.GetProperty("type").GetString());
        Assert.Equal(env.WebVirtualEndPoint.Address.ToString(), web.GetProperty("clusterIP").GetString());
        Assert.Equal("round-robin", web.GetProperty("balancer").GetString());
        Assert.Equal("app=web", web.GetProperty("selector").GetString());
        Assert.Equal("None", web.GetProperty("sessionAffinity").GetProperty("type").GetString());
        var webPort = web.GetProperty("ports").EnumerateArray().Single();
        Assert.Equal("http", webPort.GetProperty("name").GetString());
        Assert.Equal("TCP", webPort.GetProperty("protocol").GetString());
        Assert.Equal(AdminTestEnvironment.WebPort, webPort.GetProperty("port").GetInt32());
        Assert.Equal(env.Backends[0].EndPoint.Port, webPort.GetProperty("targetPort").GetInt32());
        Assert.Equal(JsonValueKind.Null, webPort.GetProperty("targetPortName").ValueKind);
        Assert.Equal(0, webPort.GetProperty("nodePort").GetInt32());
        Assert.Equal(env.WebVirtualEndPoint.ToString(), webPort.GetProperty("listening").GetProperty("virtual").GetString());
        Assert.Empty(webPort.GetProperty("listening").GetProperty("nodePorts").EnumerateArray());
        var counts = webPort.GetProperty("endpoints");
        Assert.Equal(4, counts.GetProperty("total").GetInt32());
        Assert.Equal(2, counts.GetProperty("ready").GetInt32());
        Assert.Equal(3, counts.GetProperty("serving").GetInt32());
        Assert.Equal(1, counts.GetProperty("terminating").GetInt32());
        Assert.Equal(2, counts.GetProperty("internalRoute").GetInt32());

        var api = services.Single(s => s.GetProperty("name").GetString() == "api");
        Assert.Equal("NodePort", api.GetProperty("type").GetString());
        Assert.Equal("least-connections", api.GetProperty("balancer").GetString());
        Assert.Equal("ClientIP", api.GetProperty("sessionAffinity").GetProperty("type").GetString());
        Assert.Equal(60, api.GetProperty("sessionAffinity").GetProperty("timeoutSeconds").GetDouble());
        Assert.Equal("Local", api.GetProperty("policies").GetProperty("externalTrafficPolicy").GetString());
        Assert.Equal("Cluster", api.GetProperty("policies").GetProperty("internalTrafficPolicy").GetString());
        var apiPort = api.GetProperty("ports").EnumerateArray().Single();
        var nodePort = apiPort.GetProperty("nodePort").GetInt32();
        Assert.InRange(nodePort, 30000, 32767);
        var nodePorts = apiPort.GetProperty("listening").GetProperty("nodePorts").EnumerateArray().Select(e => e.GetString()).ToList();
        var nodeEndPoint = Assert.Single(nodePorts);
        Assert.EndsWith(":" + nodePort, nodeEndPoint, StringComparison.Ordinal);
        Assert.Equal(1, apiPort.GetProperty("endpoints").GetProperty("externalRoute").GetInt32());
        Assert.Equal(2, apiPort.GetProperty("endpoints").GetProperty("internalRoute").GetInt32());
    }

    [Fact]
    public async Task ApiEndpoints_ShowConditionsPlacementRoutesAndCounters_AfterRealConnections()
    {
        await using var env = await AdminTestEnvironment.StartAsync();
        var served = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            served.Add(await AdminTestEnvironment.RoundTripAsync(env.WebVirtualEndPoint));
        }

        Assert.Equal(3, served.Count(p => p == "web-1"));
        Assert.Equal(3, served.Count(p => p == "web-2"));
        await env.WaitForIdleAsync();

        using var response = await env.GetAsync("api/endpoints");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal(env.Catalog.Current.Version, root.GetProperty("catalogVersion").GetInt64());
        var services = root.GetProperty("services").EnumerateArray().ToList();
        var webPort = services.Single(s => s.GetProperty("name").GetString() == "web").GetProperty("ports").EnumerateArray().Single();
        Assert.Equal("http", webPort.GetProperty("name").GetString());
        Assert.Equal(env.WebVirtualEndPoint.ToString(), webPort.GetProperty("virtual").GetString());
        var endpoints = webPort.GetProperty("endpoints").EnumerateArray().ToDictionary(e => e.GetProperty("pod").GetString()!);
        Assert.Equal(["default/web-1", "default/web-2", "default/web-3", "default/web-4"], endpoints.Keys.Order(StringComparer.Ordinal));

        foreach (var pod in new[] { 1, 2 })
        {
            var e = endpoints[$"default/web-{pod}"];
            Assert.Equal(env.WebAddress(pod), e.GetProperty("address").GetString());
            AssertConditions(e, ready: true, serving: true, terminating: false);
            Assert.True(e.GetProperty("internalRoute").GetBoolean());
            Assert.True(e.GetProperty("externalRoute").GetBoolean());
            Assert.Equal(0, e.GetProperty("activeConnections").GetInt64());
            Assert.Equal(3, e.GetProperty("totalConnections").GetInt64());
            Assert.Equal(0, e.GetProperty("failedConnects").GetInt64());
            Assert.Equal(3 * AdminTestEnvironment.Payload.Length, e.GetProperty("bytesToEndpoint").GetInt64());
            Assert.Equal(3 * AdminTestEnvironment.BytesFromPod($"web-{pod}"), e.GetProperty("bytesFromEndpoint").GetInt64());
        }

        var web2 = endpoints["default/web-2"];
        Assert.Equal(AdminTestEnvironment.NodeName, web2.GetProperty("node").GetString());
        Assert.Equal("zone-1", web2.GetProperty("zone").GetString());
        Assert.Equal(3, web2.GetProperty("weight").GetInt32());
        Assert.Equal(JsonValueKind.Null, endpoints["default/web-1"].GetProperty("node").ValueKind);

        // Not ready: no route takes it, nothing was sent to it.
        AssertConditions(endpoints["default/web-3"], ready: false, serving: false, terminating: false);
        Assert.False(endpoints["default/web-3"].GetProperty("internalRoute").GetBoolean());
        Assert.Equal(0, endpoints["default/web-3"].GetProperty("totalConnections").GetInt64());
        // Terminating: still serving, but not ready while ready endpoints exist.
        AssertConditions(endpoints["default/web-4"], ready: false, serving: true, terminating: true);
        Assert.False(endpoints["default/web-4"].GetProperty("internalRoute").GetBoolean());

        // externalTrafficPolicy Local: only the endpoint on this node takes node-port traffic.
        var api = services.Single(s => s.GetProperty("name").GetString() == "api").GetProperty("ports").EnumerateArray().Single()
            .GetProperty("endpoints").EnumerateArray().ToDictionary(e => e.GetProperty("pod").GetString()!);
        Assert.True(api["default/api-1"].GetProperty("externalRoute").GetBoolean());
        Assert.True(api["default/api-1"].GetProperty("internalRoute").GetBoolean());
        Assert.False(api["default/api-2"].GetProperty("externalRoute").GetBoolean());
        Assert.True(api["default/api-2"].GetProperty("internalRoute").GetBoolean());
        Assert.Equal("node-b", api["default/api-2"].GetProperty("node").GetString());
    }

    [Fact]
    public async Task Metrics_ArePrometheusText_WithPerEndpointSeriesOfThisSidecarOnly_AndReloads()
    {
        await using var env = await AdminTestEnvironment.StartAsync();
        // Another proxy in the same process, on the process-wide meter: its series must not leak into this sidecar's /metrics.
        await using var other = await ProxyTestEnvironment.StartAsync(pods: 1);
        Assert.Equal("web-1", await TestClient.WhoServesAsync(other.VirtualEndPoint));

        const int connections = 6;
        for (var i = 0; i < connections; i++)
        {
            await AdminTestEnvironment.RoundTripAsync(env.WebVirtualEndPoint);
        }

        await AdminTestEnvironment.RoundTripAsync(env.ApiVirtualEndPoint);
        await env.WaitForIdleAsync();
        env.Telemetry.Metrics.ReloadSucceeded();
        env.Telemetry.Metrics.ReloadSucceeded();
        env.Telemetry.Metrics.ReloadFailed();

        using var response = await env.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        await Promtool.CheckMetricsAsync(text);
        var metrics = PrometheusText.Parse(text);

        foreach (var pod in new[] { 1, 2 })
        {
            (string, string)[] series = [("service", "default/web"), ("port", "http"), ("endpoint", env.WebAddress(pod))];
            Assert.Equal(3, metrics.Value("fastproxy_endpoint_connections_total", series));
            Assert.Equal(0, metrics.Value("fastproxy_endpoint_connections_active", series));
            Assert.Equal(0, metrics.Value("fastproxy_endpoint_connect_failures_total", series));
            Assert.Equal(3 * AdminTestEnvironment.Payload.Length, metrics.Value("fastproxy_endpoint_bytes_total", [.. series, ("direction", "to_endpoint")]));
            Assert.Equal(3 * AdminTestEnvironment.BytesFromPod($"web-{pod}"), metrics.Value("fastproxy_endpoint_bytes_total", [.. series, ("direction", "from_endpoint")]));
        }

        Assert.Equal("counter", metrics.Families["fastproxy_endpoint_connections_total"].Type);
        Assert.Equal("gauge", metrics.Families["fastproxy_endpoint_connections_active"].Type);
        Assert.Equal("histogram", metrics.Families["fastproxy_connect_duration_seconds"].Type);
        Assert.Equal(connections, metrics.Value("fastproxy_connect_duration_seconds_count", ("service", "default/web"), ("outcome", "ok")));
        Assert.Equal(1, metrics.Value("fastproxy_connect_duration_seconds_count", ("service", "default/api"), ("outcome", "ok")));
        Assert.Equal(1, metrics.Find("fastproxy_endpoint_connections_total", ("service", "default/api")).Sum(s => s.Value));
        Assert.Equal(env.Catalog.Current.Version, metrics.Value("fastproxy_catalog_version"));
        Assert.Equal(0, metrics.Value("fastproxy_connections_active"));
        Assert.Equal(2, metrics.Value("fastproxy_reloads_total", ("result", "ok")));
        Assert.Equal(1, metrics.Value("fastproxy_reloads_total", ("result", "failed")));

        // Exactly this catalog's endpoints, none of the other proxy's.
        var ours = env.Catalog.Current.Services.Values.SelectMany(s => s.Ports).SelectMany(p => p.AllEndpoints).Select(e => e.EndPoint.ToString()).ToHashSet();
        var exposed = metrics.Find("fastproxy_endpoint_connections_total").Select(s => s.Labels["endpoint"]).ToHashSet();
        Assert.Equal(ours.Order(StringComparer.Ordinal), exposed.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(other.Backends[0].EndPoint.ToString(), exposed);
    }

    [Fact]
    public async Task BearerToken_IsRequiredEverywhereButHealthz()
    {
        const string token = "s3cret-admin-token";
        await using var env = await AdminTestEnvironment.StartAsync(bearerToken: token);

        foreach (var path in new[] { "", "api/services", "api/endpoints", "metrics", "no-such-page" })
        {
            foreach (var authorization in new string?[] { null, "Bearer wrong-token", "Bearer " + token + "x", "Basic " + token, token, "Bearer" })
            {
                using var denied = await env.GetAsync(path, authorization);
                Assert.True(denied.StatusCode == HttpStatusCode.Unauthorized, $"/{path} with '{authorization}': {denied.StatusCode}");
                Assert.Equal("Bearer", denied.Headers.WwwAuthenticate.Single().Scheme);
            }

            using var allowed = await env.GetAsync(path, "Bearer " + token);
            Assert.Equal(path == "no-such-page" ? HttpStatusCode.NotFound : HttpStatusCode.OK, allowed.StatusCode);
            using var schemeCaseInsensitive = await env.GetAsync(path, "bearer " + token);
            Assert.Equal(allowed.StatusCode, schemeCaseInsensitive.StatusCode);
        }

        using var health = await env.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Dashboard_IsOneSelfContainedPage_ThatMayLoadNothingFromElsewhere()
    {
        await using var env = await AdminTestEnvironment.StartAsync();

        using var response = await env.GetAsync("");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        var policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));

        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'sha256-", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        // No external resource: nothing is referenced by URL except the page's own API.
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=", html, StringComparison.Ordinal);
        Assert.Contains("api/services", html, StringComparison.Ordinal);
        Assert.Contains("api/endpoints", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminServer_BindsOnlyTheGivenAddress_AndStopsCleanly()
    {
        await using var env = await AdminTestEnvironment.StartAsync();
        var bound = env.Admin.EndPoint!;
        Assert.NotEqual(0, bound.Port);
        Assert.StartsWith("127.", bound.Address.ToString(), StringComparison.Ordinal);

        // The same port on another loopback address is not served.
        var elsewhere = new IPEndPoint(IPAddress.Parse("127.0.0.1"), bound.Port);
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => probe.ConnectAsync(elsewhere).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(System.Net.Sockets.SocketError.ConnectionRefused, refused.SocketErrorCode);

        await env.Admin.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<HttpRequestException>(() => env.GetAsync("healthz"));
    }

    [Fact]
    public async Task ApiEndpoints_ShowHealth_AndApiServicesTheHealthyCount()
    {
        await using var env = await AdminTestEnvironment.StartAsync();
        var id = new FastProxy.Model.NamespacedName("default", "web");
        var web = env.Catalog.Current.Services[id];
        env.Catalog.SetService(web.Service with { OutlierDetection = new FastProxy.Model.OutlierDetectionPolicy() });
        var ejected = env.Catalog.Current.Services[id].Ports[0].AllEndpoints.Single(e => e.Pod?.Name == "web-1");
        ejected.SetHealth(FastProxy.Model.EndpointHealth.Ejected, on: true);
        env.Catalog.RefreshRoutes(id);

        using var endpointsJson = JsonDocument.Parse(await (await env.GetAsync("api/endpoints")).Content.ReadAsStringAsync());
        var endpoints = endpointsJson.RootElement.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "web")
            .GetProperty("ports").EnumerateArray().Single().GetProperty("endpoints").EnumerateArray().ToDictionary(e => e.GetProperty("pod").GetString()!);
        Assert.Equal("ejected", endpoints["default/web-1"].GetProperty("health").GetString());
        Assert.False(endpoints["default/web-1"].GetProperty("internalRoute").GetBoolean());
        Assert.Equal("healthy", endpoints["default/web-2"].GetProperty("health").GetString());

        using var servicesJson = JsonDocument.Parse(await (await env.GetAsync("api/services")).Content.ReadAsStringAsync());
        var service = servicesJson.RootElement.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "web");
        Assert.True(service.GetProperty("outlierDetection").GetBoolean());
        var port = service.GetProperty("ports").EnumerateArray().Single();
        Assert.Equal(endpoints.Count - 1, port.GetProperty("endpoints").GetProperty("healthy").GetInt32());
        Assert.False(port.GetProperty("panic").GetBoolean());
    }

    [Fact]
    public void DefaultAddress_IsLoopback9901()
        => Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9901), new AdminServerOptions().EndPoint);

    private static void AssertConditions(JsonElement endpoint, bool ready, bool serving, bool terminating)
    {
        var conditions = endpoint.GetProperty("conditions");
        Assert.Equal(ready, conditions.GetProperty("ready").GetBoolean());
        Assert.Equal(serving, conditions.GetProperty("serving").GetBoolean());
        Assert.Equal(terminating, conditions.GetProperty("terminating").GetBoolean());
    }
}
