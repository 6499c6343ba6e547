using System.Text.RegularExpressions;

namespace FastProxy.Sidecar.Tests;

/// <summary>
/// Runs the real <c>fastproxy</c> executable with no arguments, as a new user would, and talks to it
/// over HTTP and DNS. Uses the demo's fixed addresses (127.0.1.1-3:8080, 127.96.0.10:8080, admin 127.0.0.1:9901, DNS 127.0.0.1:5353),
/// so it fails if a demo is already running on this machine.
/// </summary>
public sealed partial class SidecarDemoTests
{
    [Fact]
    public async Task Demo_SixRequestsToTheVip_AnsweredByTheThreePodsInTurn_ThenCtrlCStopsCleanly()
    {
        await using var process = SidecarProcess.Start();
        await process.WaitForLineAsync("Press Ctrl+C to stop.", TimeSpan.FromSeconds(60));
        var output = process.Lines;
        Assert.Contains(output, line => line.Contains("curl -s http://127.96.0.10:8080/", StringComparison.Ordinal));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var pods = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            // A new connection per request, as six separate curl runs make.
            using var request = new HttpRequestMessage(HttpMethod.Get, "http://127.96.0.10:8080/");
            request.Headers.ConnectionClose = true;
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            pods.Add(PodName().Match(body).Value);
        }

        Assert.Equal(["web-1", "web-2", "web-3", "web-1", "web-2", "web-3"], pods);

        // Done when (issue 7): dig answers the demo's VIP from the embedded DNS server.
        Assert.Contains(output, line => line.Contains("dig @127.0.0.1 -p 5353 web.default.svc.cluster.local", StringComparison.Ordinal));
        var dig = await Dns.Tests.Dig.QueryAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 5353), "web.default.svc.cluster.local", "A");
        Assert.Equal(["127.96.0.10"], dig.AnswerData("A"));

        // The banner's dashboard is up, and its API saw the six connections.
        Assert.Contains(output, line => line.Contains("dashboard http://127.0.0.1:9901/", StringComparison.Ordinal));
        Assert.Equal("ok\n", await http.GetStringAsync("http://127.0.0.1:9901/healthz"));
        // A connection counts once its connect to the pod succeeded, so before its response came back.
        Assert.Equal(6, await TotalConnectionsAsync(http));

        await process.SignalAsync("INT");
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(20));
        Assert.True(exitCode == 0, $"exit code {exitCode}; output:\n{process.Output}");
        Assert.Contains(output, line => line.Contains("Stopped.", StringComparison.Ordinal));
    }

    private static async Task<long> TotalConnectionsAsync(HttpClient http)
    {
        using var json = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("http://127.0.0.1:9901/api/endpoints"));
        return json.RootElement.GetProperty("services").EnumerateArray()
            .SelectMany(s => s.GetProperty("ports").EnumerateArray())
            .SelectMany(p => p.GetProperty("endpoints").EnumerateArray())
            .Sum(e => e.GetProperty("totalConnections").GetInt64());
    }

    [GeneratedRegex("web-[0-9]+")]
    private static partial Regex PodName();
}
