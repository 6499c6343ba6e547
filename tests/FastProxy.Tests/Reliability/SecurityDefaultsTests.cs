using System.Globalization;
using System.Net;
using System.Text;
using FastProxy.Dns;
using FastProxy.Manifests.Tests;
using FastProxy.Model;
using FastProxy.Services.Tests;
using FastProxy.Sidecar.Admin;
using FastProxy.Sidecar.Tests;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Security defaults: the sidecar run with no address options listens on loopback only (seen in the kernel's
/// socket tables, in a network namespace of the test's own so the default ports are free), its admin API
/// wants the token it was given (through FASTPROXY_ADMIN_TOKEN, not the command line) and never prints it; loadBalancerSourceRanges refuses outsiders before any
/// byte reaches a backend; and nothing logged at Trace holds the token or a payload.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class SecurityDefaultsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheSidecarsDefaults_ListenOnLoopbackOnly_TheAdminApiWantsItsToken_AndNeverPrintsIt()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9901), new AdminServerOptions().EndPoint);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5353), new ClusterDnsOptions().EndPoint);
        var unshare = ExternalTool.Require("unshare", "util-linux");
        var nsenter = ExternalTool.Require("nsenter", "util-linux");
        var curl = ExternalTool.Require("curl", "curl");
        ExternalTool.Require("ip", "iproute2");

        var token = "tok-" + Guid.NewGuid().ToString("N");
        using var folder = new TempFolder();
        folder.Write("web.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  clusterIP: 127.100.0.2\n  ports: [{port: 8080, name: http}, {port: 53, protocol: UDP, name: dns}]\n");

        // A network namespace of its own (loopback only, brought up), so 127.0.0.1:9901 and :5353 are free
        // whatever else runs on this machine; exec keeps the PID the sidecar's.
        // The token through the environment, where other users cannot read it (a command line they can).
        await using var sidecar = SidecarProcess.StartProgram(
            unshare,
            ["-n", "--", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\"", "dotnet", Path.Combine(AppContext.BaseDirectory, "FastProxy.Sidecar.dll"), "run", "-f", folder.Path],
            environment: new Dictionary<string, string> { ["FASTPROXY_ADMIN_TOKEN"] = token });
        await sidecar.WaitForLineAsync("Press Ctrl+C to stop.", TimeSpan.FromSeconds(60));
        Assert.Contains(sidecar.Lines, l => l.Contains("admin: dashboard http://127.0.0.1:9901/", StringComparison.Ordinal));
        Assert.Contains(sidecar.Lines, l => l.Contains("dns: 127.0.0.1:5353", StringComparison.Ordinal));

        Assert.DoesNotContain(token, await File.ReadAllTextAsync($"/proc/{sidecar.Id}/cmdline"), StringComparison.Ordinal);
        var listening = ListeningSockets.Of(sidecar.Id);
        output.WriteLine("listening: " + string.Join(", ", listening));
        Assert.All(listening, s => Assert.True(IPAddress.IsLoopback(s.EndPoint.Address), $"{s} is not loopback"));
        foreach (var expected in new[] { "tcp 127.0.0.1:9901", "tcp 127.0.0.1:5353", "udp 127.0.0.1:5353", "tcp 127.100.0.2:8080", "udp 127.100.0.2:53" })
        {
            Assert.Contains(expected, listening.Select(s => s.ToString()));
        }

        // The admin API, from inside the namespace: 401 without the token or with a wrong one, 200 with it.
        async Task<string> StatusAsync(string path, string? authorization)
        {
            string[] header = authorization is null ? [] : ["-H", "Authorization: " + authorization];
            var result = await ExternalTool.RunAsync(nsenter, ["-t", sidecar.Id.ToString(CultureInfo.InvariantCulture), "-n", curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", .. header, "http://127.0.0.1:9901/" + path], TimeSpan.FromSeconds(30));
            return result.StandardOutput;
        }

        Assert.Equal("401", await StatusAsync("api/services", null));
        Assert.Equal("401", await StatusAsync("metrics", "Bearer " + token[..^1]));
        Assert.Equal("401", await StatusAsync("api/endpoints", "Bearer " + token + "0"));
        Assert.Equal("200", await StatusAsync("api/services", "Bearer " + token));
        Assert.Equal("200", await StatusAsync("healthz", null));

        await sidecar.SignalAsync("TERM");
        Assert.Equal(0, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(sidecar.Lines, l => l.Contains(token, StringComparison.Ordinal));

        new ReliabilityRow(
            "Security defaults (sidecar)",
            "`fastproxy run` with no --admin/--dns, in its own network namespace",
            "the kernel's socket tables of the process; admin requests without, with a wrong and with the token (given in FASTPROXY_ADMIN_TOKEN)",
            string.Create(CultureInfo.InvariantCulture, $"nothing exposed: {listening.Count} listening sockets, all loopback (admin 127.0.0.1:9901, DNS 127.0.0.1:5353 UDP+TCP, the VIP); 401 without or with a wrong token, 200 with it; the token in none of {sidecar.Lines.Count()} output lines nor the command line"),
            ReliabilityRow.FilterCommand(nameof(SecurityDefaultsTests))).Record(output);
    }

    [Fact]
    public async Task LoadBalancerSourceRanges_RefuseOutsidersBeforeAnyByteIsForwarded_AndServeInsiders()
    {
        const int outsiders = 300, insiders = 30;
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await host.StartAsync(
            host.WebService(pods[0].EndPoint.Port) with
            {
                Type = ServiceType.LoadBalancer,
                LoadBalancerIP = host.LoadBalancerIP,
                LoadBalancerSourceRanges = [IPNetwork.Parse("127.203.0.0/16")],
            },
            pods);
        var loadBalancer = new IPEndPoint(host.LoadBalancerIP, ServiceTestHost.ServicePort);
        var payload = Encoding.ASCII.GetBytes("GET /outsider HTTP/1.1\r\n\r\n");

        // Outsiders from many addresses around the range (127.202.255.x just below, 127.204.0.x just above,
        // others further off), each sending at once: every one refused, none greeted by a pod.
        var refused = 0;
        for (var i = 0; i < outsiders; i++)
        {
            var source = IPAddress.Parse(FormattableString.Invariant($"127.{(i % 3) switch { 0 => "202.255", 1 => "204.0", _ => "66.1" }}.{(i / 3) + 1}"));
            var outcome = await OutcomeAfterSendingAsync(loadBalancer, source, payload);
            Assert.True(outcome is ServiceTestHost.Reset or ServiceTestHost.Closed, $"outsider {source}: {outcome}");
            refused++;
        }

        Assert.Equal(0, pods.Sum(p => p.Accepted));
        for (var i = 0; i < insiders; i++)
        {
            var source = IPAddress.Parse(FormattableString.Invariant($"127.203.{i}.{i + 1}"));
            Assert.StartsWith("pod-", await TestClient.WhoServesAsync(loadBalancer, source), StringComparison.Ordinal);
        }

        Assert.Equal(insiders, pods.Sum(p => p.Accepted));

        new ReliabilityRow(
            "loadBalancerSourceRanges",
            string.Create(CultureInfo.InvariantCulture, $"{insiders} insiders (127.203.0.0/16) served"),
            string.Create(CultureInfo.InvariantCulture, $"{outsiders} outsider connections from 127.202.255.x, 127.204.0.x and 127.66.1.x, each sending a request at once"),
            string.Create(CultureInfo.InvariantCulture, $"nothing forwarded: {refused} refused, 0 backend accepts for outsiders, {insiders} for insiders"),
            ReliabilityRow.FilterCommand(nameof(SecurityDefaultsTests))).Record(output);
    }

    [Fact]
    public async Task LogsAtTrace_HoldNeitherTheAdminTokenNorAPayload()
    {
        var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var token = "tok-" + Guid.NewGuid().ToString("N");
        var marker = "PAYLOAD-MARKER-" + Guid.NewGuid().ToString("N");
        await using (var env = await AdminTestEnvironment.StartAsync(token, loggerFactory))
        {
            // A payload through the proxy both ways, and a connection that dies mid-payload.
            await using (var client = await TestClient.ConnectAsync(env.WebVirtualEndPoint))
            {
                await client.ReadLineAsync();
                var bytes = Encoding.ASCII.GetBytes(marker + "\n");
                await client.SendAsync(bytes);
                Assert.Equal(bytes, await client.ReadExactlyAsync(bytes.Length));
                client.ShutdownSend();
                await client.ReadToEndAsync();
            }

            await using (var aborted = await TestClient.ConnectAsync(env.WebVirtualEndPoint))
            {
                await aborted.SendAsync(Encoding.ASCII.GetBytes(marker));
                aborted.Socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
            }

            // Admin requests with no, wrong and right tokens, and the token where it does not belong (the path).
            foreach (var authorization in new string?[] { null, "Bearer " + token + "x", "Basic " + token, "Bearer " + token })
            {
                using var response = await env.GetAsync("api/services", authorization);
            }

            using (await env.GetAsync("no-such-page/" + token, "Bearer " + token + "y"))
            {
            }

            await env.WaitForIdleAsync();
        }

        Assert.NotEmpty(logs.Messages);
        var everything = logs.Messages.Concat(logs.Exceptions).ToList();
        Assert.DoesNotContain(everything, m => m.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(everything, m => m.Contains(marker, StringComparison.Ordinal));

        new ReliabilityRow(
            "Secrets and payloads in logs",
            "proxy and admin server logging at Trace",
            "an admin token; 4 admin requests with no, wrong and right tokens and one with the token in its path; a marked payload echoed through the proxy and one cut off by a reset",
            string.Create(CultureInfo.InvariantCulture, $"nothing leaked: neither the token nor the payload in any of {logs.Messages.Count} log messages or {logs.Exceptions.Count} logged exceptions"),
            ReliabilityRow.FilterCommand(nameof(SecurityDefaultsTests))).Record(output);
    }

    /// <summary>Connects from <paramref name="source"/>, sends <paramref name="payload"/> at once, and says what came back.</summary>
    private static async Task<string> OutcomeAfterSendingAsync(IPEndPoint endPoint, IPAddress source, byte[] payload)
    {
        try
        {
            await using var client = await TestClient.ConnectAsync(endPoint, source);
            await client.SendAsync(payload);
            var line = await client.ReadLineAsync();
            return line.Length == 0 ? ServiceTestHost.Closed : line;
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode is System.Net.Sockets.SocketError.ConnectionReset or System.Net.Sockets.SocketError.ConnectionRefused)
        {
            return ServiceTestHost.Reset;
        }
    }
}
