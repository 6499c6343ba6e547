using FastProxy.Tests;

namespace FastProxy.Sidecar.Tests;

/// <summary>
/// The dashboard in a real browser (Debian's headless Chromium): the page's own script fetches the API
/// and renders services, endpoints, conditions and counters; traffic through the proxy shows up on the
/// next load. Fails, not skips, without Chromium.
/// </summary>
public sealed class AdminDashboardBrowserTests
{
    // Virtual time: about three polls of the page (one per second), so rates exist (two samples) and the DOM is settled.
    private static readonly TimeSpan PageLife = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Dashboard_RendersServicesEndpointsConditionsAndCounters_AndCountersRiseWithTraffic()
    {
        await using var env = await AdminTestEnvironment.StartAsync();
        for (var i = 0; i < 4; i++)
        {
            await AdminTestEnvironment.RoundTripAsync(env.WebVirtualEndPoint);
        }

        await env.WaitForIdleAsync();
        var first = new DashboardDom(await HeadlessChromium.DumpDomAsync(env.Admin.DashboardUri!, PageLife));

        Assert.True(first.Status == "live", "dashboard not live; DOM:\n" + first.Html);
        Assert.Equal(env.Catalog.Current.Version, first.CatalogVersion);

        var webRow = first.Service("default/web") ?? throw new Xunit.Sdk.XunitException("no row for default/web; DOM:\n" + first.Html);
        Assert.Equal("ClusterIP", webRow.Cells["type"].Text);
        Assert.Equal(env.WebVirtualEndPoint.Address.ToString(), webRow.Cells["cluster-ip"].Text);
        Assert.Contains($"data-field=\"listening\">{env.WebVirtualEndPoint}</code>", webRow.Html, StringComparison.Ordinal);
        Assert.Equal(2, webRow.Number("ready"));
        var apiRow = first.Service("default/api") ?? throw new Xunit.Sdk.XunitException("no row for default/api");
        Assert.Equal("NodePort", apiRow.Cells["type"].Text);

        // Every endpoint of the catalog, with its pod, conditions and routes as the catalog has them.
        foreach (var service in env.Catalog.Current.Services.Values)
        {
            foreach (var endpoint in service.Ports.SelectMany(p => p.AllEndpoints))
            {
                var row = first.Endpoint(service.Id.ToString(), endpoint.EndPoint.ToString())
                    ?? throw new Xunit.Sdk.XunitException($"no row for {endpoint}; DOM:\n{first.Html}");
                Assert.Equal(endpoint.Pod.ToString(), row.Cells["pod"].Text);
                var conditions = endpoint.Conditions;
                Assert.Equal(
                    new Dictionary<string, bool> { ["ready"] = conditions.Ready, ["serving"] = conditions.Serving, ["terminating"] = conditions.Terminating },
                    row.Conditions);
            }
        }

        var web1 = first.Endpoint("default/web", env.WebAddress(1))!;
        var web2 = first.Endpoint("default/web", env.WebAddress(2))!;
        var web3 = first.Endpoint("default/web", env.Catalog.Current.Services.Values.Single(s => s.Id.Name == "web").Ports[0].AllEndpoints[2].EndPoint.ToString())!;
        Assert.Equal(["internal", "external"], web1.Routes);
        Assert.Equal(["none"], web3.Routes);
        Assert.Equal(2, web1.Number("total"));
        Assert.Equal(2, web2.Number("total"));
        Assert.Equal(0, web1.Number("active"));
        Assert.Equal(2 * AdminTestEnvironment.Payload.Length, web1.Number("bytes-to"));
        Assert.Equal(2 * AdminTestEnvironment.BytesFromPod("web-1"), web1.Number("bytes-from"));
        Assert.Equal(3, web2.Number("weight"));
        Assert.Equal(0, web3.Number("total"));

        // More traffic: six finished connections, and two held open while the page loads, one of them
        // streaming the whole time, so the open connections and a byte rate are on screen.
        for (var i = 0; i < 6; i++)
        {
            await AdminTestEnvironment.RoundTripAsync(env.WebVirtualEndPoint);
        }

        await using var held = await TestClient.ConnectAsync(env.WebVirtualEndPoint);
        await using var streaming = await TestClient.ConnectAsync(env.WebVirtualEndPoint);
        var heldPod = await held.ReadLineAsync();
        var streamingPod = await streaming.ReadLineAsync();
        Assert.NotEqual(heldPod, streamingPod); // round robin: one on each pod
        using var stopStreaming = new CancellationTokenSource();
        var pump = PumpAsync(streaming, stopStreaming.Token);

        DashboardDom second;
        try
        {
            second = new DashboardDom(await HeadlessChromium.DumpDomAsync(env.Admin.DashboardUri!, PageLife));
        }
        finally
        {
            await stopStreaming.CancelAsync();
            await pump;
        }

        var web1After = second.Endpoint("default/web", env.WebAddress(1))!;
        var web2After = second.Endpoint("default/web", env.WebAddress(2))!;
        Assert.Equal(12, web1After.Number("total") + web2After.Number("total"));
        Assert.True(web1After.Number("total") > web1.Number("total"), "web-1's total did not rise");
        Assert.True(web2After.Number("total") > web2.Number("total"), "web-2's total did not rise");
        Assert.Equal(1, web1After.Number("active"));
        Assert.Equal(1, web2After.Number("active"));
        Assert.Equal(2, second.Service("default/web")!.Number("active"));
        Assert.True(web1After.Number("bytes-to") > web1.Number("bytes-to"), "bytes to web-1 did not rise");

        var streamed = second.Endpoint("default/web", env.Backend(streamingPod).EndPoint.ToString())!;
        Assert.True(streamed.Rate("bytes-to-rate") > 0, $"no byte rate while a connection streamed; row:\n{streamed.Html}");
    }

    // Sends and reads back 16 KiB at a time until stopped: traffic that flows while the browser watches.
    private static async Task PumpAsync(TestClient client, CancellationToken stop)
    {
        var chunk = new byte[16 * 1024];
        while (!stop.IsCancellationRequested)
        {
            await client.SendAsync(chunk);
            await client.ReadExactlyAsync(chunk.Length);
        }
    }
}
