using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using FastProxy.Dns.Tests;
using FastProxy.Manifests.Tests;
using FastProxy.Tests;
using Xunit.Abstractions;

namespace FastProxy.Sidecar.Tests;

/// <summary>
/// <c>fastproxy run</c>, <c>validate</c> and <c>env</c> as a user runs them: the real executable on
/// manifests in a temp folder, talked to over loopback. Every test has its own addresses: pods and the
/// node address in its own 127.(160+n).R.0/24, virtual IPs in 127.98.R.0/24 (<see cref="NextAddresses"/>), and the
/// admin server on an address of its own (never 0.0.0.0, never 127.0.0.1:9901).
/// </summary>
public sealed class SidecarRunTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Reload = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task DoneWhen_ValidateFindsTheBadFile_RunServesAll_LabelEditMovesNewConnectionsOnly_AdminAndMetricsShowIt()
    {
        var (prefix, webVip) = NextAddresses();
        var apiVip = NextAddresses().VirtualIP;
        var dbVip = NextAddresses().VirtualIP;
        var web = TestBackend.StartMany("web", prefix, 2);
        await using var web1 = web[0];
        await using var web2 = web[1];
        await using var api = TestBackend.Start("api-1", new IPEndPoint(IPAddress.Parse(prefix + "3"), 0));
        await using var db = TestBackend.Start("db-1", new IPEndPoint(IPAddress.Parse(prefix + "4"), 0));
        var node = IPAddress.Parse(prefix + "200");
        var admin = new IPEndPoint(IPAddress.Parse(prefix + "201"), 9901);

        using var folder = new TempFolder();
        var webFile = folder.Write("web.yaml", WebManifest(webVip, web1.EndPoint.Port, prefix, retired: null));
        folder.Write("api.yaml", $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: api
            spec:
              type: NodePort
              clusterIP: {apiVip}
              selector:
                app: api
              ports:
                - port: 8080
                  targetPort: {api.EndPoint.Port}
                  nodePort: 30080
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: api-1
              labels:
                app: api
            status:
              podIP: {prefix}3
            """);
        folder.Write("db.yaml", $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: db
            spec:
              clusterIP: {dbVip}
              ports:
                - port: 8080
                  targetPort: {db.EndPoint.Port}
            ---
            apiVersion: v1
            kind: Endpoints
            metadata:
              name: db
            subsets:
              - addresses:
                  - ip: {prefix}4
                ports:
                  - port: {db.EndPoint.Port}
            """);
        var broken = folder.Write("broken.yaml", """
            apiVersion: v1
            kind: Service
            metadata:
              name: broken
            spec:
              ports:
                - port: eighty
            """);

        // validate: exit 1, the bad file named with the field path.
        var (validateExit, validateOutput) = await SidecarProcess.RunToEndAsync("validate", "-f", folder.Path);
        Assert.True(validateExit == 1, $"validate exit {validateExit}:\n{validateOutput}");
        Assert.Contains(validateOutput.Split('\n'), l => l.Contains("broken.yaml", StringComparison.Ordinal) && l.Contains("spec.ports[0].port", StringComparison.Ordinal));
        Assert.Contains("1 error(s), 0 warning(s) in 4 file(s)", validateOutput, StringComparison.Ordinal);

        File.Delete(broken);
        await using var sidecar = SidecarProcess.Start("run", "-f", folder.Path, "--node-address", node.ToString(), "--admin", admin.ToString(), "--drain-timeout", "5s", "--dns", "off");
        await sidecar.WaitForLineAsync("Press Ctrl+C to stop.", Startup);

        // All three services serve: the selector one through its VIP, the NodePort one through its VIP and
        // the node port, the selector-less one through its Endpoints.
        var webVipEndPoint = new IPEndPoint(webVip, 8080);
        Assert.Equal(["web-1", "web-2"], new[] { await TestClient.WhoServesAsync(webVipEndPoint), await TestClient.WhoServesAsync(webVipEndPoint) }.Order(StringComparer.Ordinal));
        Assert.Equal("api-1", await TestClient.WhoServesAsync(new IPEndPoint(apiVip, 8080)));
        Assert.Equal("api-1", await TestClient.WhoServesAsync(new IPEndPoint(node, 30080)));
        Assert.Equal("db-1", await TestClient.WhoServesAsync(new IPEndPoint(dbVip, 8080)));

        // A long-lived connection; then its pod leaves the selector (the file is replaced by rename, as editors do).
        await using var longLived = await TestClient.ConnectAsync(webVipEndPoint);
        var retired = await longLived.ReadLineAsync();
        var remaining = retired == "web-1" ? "web-2" : "web-1";
        var retiredAddress = (retired == "web-1" ? web1 : web2).EndPoint.ToString();
        var edited = Stopwatch.StartNew();
        ReplaceByRename(webFile, WebManifest(webVip, web1.EndPoint.Port, prefix, retired));

        var movedAfter = TimeSpan.Zero;
        while (true)
        {
            var served = new[] { await TestClient.WhoServesAsync(webVipEndPoint), await TestClient.WhoServesAsync(webVipEndPoint) };
            if (served.All(s => s == remaining))
            {
                movedAfter = edited.Elapsed;
                break;
            }

            Assert.True(edited.Elapsed < Reload, $"new connections still reach {retired} after {edited.Elapsed}; output:\n{sidecar.Output}");
            await Task.Delay(20);
        }

        // How fast is a figure for the closing note (measured ~0.3 s: 200 ms debounce + load + apply), not a
        // timed assertion: a loaded CI machine must not fail this test for being slow, only for being wrong.
        Assert.True(movedAfter < Reload, $"new connections moved after {movedAfter}");
        output.WriteLine($"new connections moved {movedAfter.TotalMilliseconds:0} ms after the file was replaced");
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(remaining, await TestClient.WhoServesAsync(webVipEndPoint));
        }

        // The open connection to the retired pod still works after the change.
        await longLived.SendAsync("still here\n"u8.ToArray());
        Assert.Equal("still here", await longLived.ReadLineAsync());
        await sidecar.WaitForLineAsync("reloaded: version", Reload);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using (var endpoints = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://{admin}/api/endpoints"))))
        {
            var webEndpoints = endpoints.RootElement.GetProperty("services").EnumerateArray()
                .Single(s => s.GetProperty("name").GetString() == "web")
                .GetProperty("ports").EnumerateArray().Single()
                .GetProperty("endpoints").EnumerateArray()
                .Select(e => e.GetProperty("address").GetString())
                .ToList();
            Assert.DoesNotContain(retiredAddress, webEndpoints);
            Assert.Single(webEndpoints);
        }

        var metrics = PrometheusText.Parse(await http.GetStringAsync(new Uri($"http://{admin}/metrics")));
        Assert.True(metrics.Value("fastproxy_reloads_total", ("result", "ok")) >= 1);

        await sidecar.SignalAsync("TERM");
        Assert.Equal(0, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task InvalidEditWhileRunning_FailsTheReload_KeepsServingTheLastGoodState_ThenTheFixReloads()
    {
        var (prefix, vip) = NextAddresses();
        await using var pod = TestBackend.Start("web-1", new IPEndPoint(IPAddress.Parse(prefix + "1"), 0));
        var admin = new IPEndPoint(IPAddress.Parse(prefix + "201"), 9901);
        using var folder = new TempFolder();
        string Manifest(string port) => $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: web
            spec:
              clusterIP: {vip}
              selector:
                app: web
              ports:
                - port: {port}
                  targetPort: {pod.EndPoint.Port}
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: web-1
              labels:
                app: web
            status:
              podIP: {prefix}1
            """;
        var file = folder.Write("web.yaml", Manifest("8080"));

        await using var sidecar = SidecarProcess.Start("run", "-f", file, "--node-address", prefix + "200", "--admin", admin.ToString(), "--dns", "off");
        await sidecar.WaitForLineAsync("Press Ctrl+C to stop.", Startup);
        Assert.Equal("web-1", await TestClient.WhoServesAsync(new IPEndPoint(vip, 8080)));

        ReplaceByRename(file, Manifest("eighty"));
        var diagnostic = await sidecar.WaitForLineAsync("spec.ports[0].port", Reload);
        Assert.Contains("web.yaml", diagnostic, StringComparison.Ordinal);
        await sidecar.WaitForLineAsync("reload failed", Reload);

        // The last good state keeps serving.
        Assert.Equal("web-1", await TestClient.WhoServesAsync(new IPEndPoint(vip, 8080)));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var metrics = PrometheusText.Parse(await http.GetStringAsync(new Uri($"http://{admin}/metrics")));
        Assert.True(metrics.Value("fastproxy_reloads_total", ("result", "failed")) >= 1);

        // The fix (on another port, so it is seen taking effect) reloads.
        ReplaceByRename(file, Manifest("8081"));
        await sidecar.WaitForLineAsync("reloaded: version", Reload);
        Assert.Equal("web-1", await TestClient.WhoServesAsync(new IPEndPoint(vip, 8081)));
        metrics = PrometheusText.Parse(await http.GetStringAsync(new Uri($"http://{admin}/metrics")));
        Assert.True(metrics.Value("fastproxy_reloads_total", ("result", "ok")) >= 1);

        await sidecar.SignalAsync("TERM");
        Assert.Equal(0, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Env_PrintsTheKubeletVariablesOfTheNamespace()
    {
        using var folder = new TempFolder();
        folder.Write("services.yaml", """
            apiVersion: v1
            kind: Service
            metadata:
              name: web-front
            spec:
              clusterIP: 127.96.5.10
              ports:
                - name: http
                  port: 80
                - name: metrics
                  port: 9100
                  protocol: TCP
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: dns
              namespace: default
            spec:
              clusterIP: 127.96.5.11
              ports:
                - port: 53
                  protocol: UDP
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: elsewhere
              namespace: other
            spec:
              clusterIP: 127.96.5.12
              ports:
                - port: 80
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: headless
            spec:
              clusterIP: None
              ports:
                - port: 80
            """);

        var (exit, output) = await SidecarProcess.RunToEndAsync("env", "-f", folder.Path);

        Assert.True(exit == 0, output);
        Assert.Equal(
            """
            DNS_PORT=udp://127.96.5.11:53
            DNS_PORT_53_UDP=udp://127.96.5.11:53
            DNS_PORT_53_UDP_ADDR=127.96.5.11
            DNS_PORT_53_UDP_PORT=53
            DNS_PORT_53_UDP_PROTO=udp
            DNS_SERVICE_HOST=127.96.5.11
            DNS_SERVICE_PORT=53
            WEB_FRONT_PORT=tcp://127.96.5.10:80
            WEB_FRONT_PORT_80_TCP=tcp://127.96.5.10:80
            WEB_FRONT_PORT_80_TCP_ADDR=127.96.5.10
            WEB_FRONT_PORT_80_TCP_PORT=80
            WEB_FRONT_PORT_80_TCP_PROTO=tcp
            WEB_FRONT_PORT_9100_TCP=tcp://127.96.5.10:9100
            WEB_FRONT_PORT_9100_TCP_ADDR=127.96.5.10
            WEB_FRONT_PORT_9100_TCP_PORT=9100
            WEB_FRONT_PORT_9100_TCP_PROTO=tcp
            WEB_FRONT_SERVICE_HOST=127.96.5.10
            WEB_FRONT_SERVICE_PORT=80
            WEB_FRONT_SERVICE_PORT_HTTP=80
            WEB_FRONT_SERVICE_PORT_METRICS=9100
            """,
            output.Replace("\r", string.Empty, StringComparison.Ordinal).TrimEnd('\n'));

        var (otherExit, otherOutput) = await SidecarProcess.RunToEndAsync("env", "-f", folder.Path, "--namespace", "other");
        Assert.Equal(0, otherExit);
        Assert.Contains("ELSEWHERE_SERVICE_HOST=127.96.5.12", otherOutput.Split('\n'));
        Assert.DoesNotContain(otherOutput.Split('\n'), l => l.StartsWith("DNS_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UsageErrors_ExitTwoNamingTheOption_AndValidateOfAMissingPathExitsOneNamingIt()
    {
        var (exit, output) = await SidecarProcess.RunToEndAsync("run", "-f", "whatever.yaml", "--admin", "x");
        Assert.True(exit == 2, $"exit {exit}:\n{output}");
        Assert.Contains("--admin: expected ADDR:PORT", output, StringComparison.Ordinal);
        Assert.Contains("got \"x\"", output, StringComparison.Ordinal);

        (exit, output) = await SidecarProcess.RunToEndAsync("run", "-f", "whatever.yaml", "--drain-timeout", "soon");
        Assert.True(exit == 2, $"exit {exit}:\n{output}");
        Assert.Contains("--drain-timeout: expected", output, StringComparison.Ordinal);

        (exit, output) = await SidecarProcess.RunToEndAsync("run");
        Assert.True(exit == 2, $"exit {exit}:\n{output}");
        Assert.Contains("--filename", output, StringComparison.Ordinal);

        var missing = Path.Combine(Path.GetTempPath(), "fastproxy-missing-" + Guid.NewGuid().ToString("N"), "web.yaml");
        (exit, output) = await SidecarProcess.RunToEndAsync("validate", "-f", missing);
        Assert.True(exit == 1, $"exit {exit}:\n{output}");
        Assert.Contains(output.Split('\n'), l => l.Contains(missing, StringComparison.Ordinal) && l.Contains("no such file or folder", StringComparison.Ordinal));

        (exit, output) = await SidecarProcess.RunToEndAsync("--help");
        Assert.Equal(0, exit);
        Assert.Contains("fastproxy [command] [options]", output, StringComparison.Ordinal);
        Assert.DoesNotContain("FastProxy.Sidecar", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_LetsAnOpenConnectionFinishItsExchange_ThenExitsZeroWithinTheDrainDeadline()
    {
        var (prefix, vip) = NextAddresses();
        await using var pod = TestBackend.Start("web-1", new IPEndPoint(IPAddress.Parse(prefix + "1"), 0));
        using var folder = new TempFolder();
        folder.Write("web.yaml", WebManifest(vip, pod.EndPoint.Port, prefix, retired: null, pods: 1));
        var drain = TimeSpan.FromSeconds(10);
        await using var sidecar = SidecarProcess.Start("run", "-f", folder.Path, "--node-address", prefix + "200", "--admin", prefix + "201:9901", "--no-watch", "--drain-timeout", "10s", "--dns", "off");
        await sidecar.WaitForLineAsync("Press Ctrl+C to stop.", Startup);

        await using var client = await TestClient.ConnectAsync(new IPEndPoint(vip, 8080));
        Assert.Equal("web-1", await client.ReadLineAsync());

        var terminated = Stopwatch.StartNew();
        await sidecar.SignalAsync("TERM");
        await sidecar.WaitForLineAsync("stopping", TimeSpan.FromSeconds(10));

        // New connections are refused once the listeners close; the open one finishes its exchange.
        var payload = Encoding.ASCII.GetBytes(new string('x', 100_000) + "\n");
        await client.SendAsync(payload);
        Assert.Equal(payload, await client.ReadExactlyAsync(payload.Length));
        client.ShutdownSend();
        Assert.Empty(await client.ReadToEndAsync());

        Assert.Equal(0, await sidecar.WaitForExitAsync(drain));
        Assert.True(terminated.Elapsed < drain, $"exited after {terminated.Elapsed}");
        Assert.Contains(sidecar.Lines, l => l.Contains("stopped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dns_DigAnswersTheVipInTheGivenClusterDomain_AndANewServiceAfterAReload()
    {
        var (prefix, vip) = NextAddresses();
        var apiVip = NextAddresses().VirtualIP;
        await using var pod = TestBackend.Start("web-1", new IPEndPoint(IPAddress.Parse(prefix + "1"), 0));
        using var folder = new TempFolder();
        folder.Write("web.yaml", WebManifest(vip, pod.EndPoint.Port, prefix, retired: null, pods: 1));
        var dns = new IPEndPoint(IPAddress.Parse(prefix + "202"), 5353);
        await using var sidecar = SidecarProcess.Start("run", "-f", folder.Path, "--node-address", prefix + "200", "--admin", "off", "--dns", dns.ToString(), "--cluster-domain", "corp.test");
        await sidecar.WaitForLineAsync("Press Ctrl+C to stop.", Startup);
        Assert.Contains(sidecar.Lines, l => l.Contains($"dig @{dns.Address} -p 5353 web.default.svc.corp.test", StringComparison.Ordinal));

        Assert.Equal([vip.ToString()], (await Dig.QueryAsync(dns, "web.default.svc.corp.test", "A")).AnswerData("A"));
        Assert.Equal(["0 100 8080 web.default.svc.corp.test."], (await Dig.QueryAsync(dns, "+tcp", "_http._tcp.web.default.svc.corp.test", "SRV")).AnswerData("SRV"));

        folder.Write("api.yaml", $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: api
            spec:
              clusterIP: {apiVip}
              ports:
                - port: 8080
            """);
        await sidecar.WaitForLineAsync("reloaded: version", Reload);
        Assert.Equal([apiVip.ToString()], (await Dig.QueryAsync(dns, "api.default.svc.corp.test", "A")).AnswerData("A"));

        await sidecar.SignalAsync("TERM");
        Assert.Equal(0, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Dns_BadOptionsAreUsageErrors_AndAGivenAddressInUseFailsTheStart()
    {
        var (exit, output) = await SidecarProcess.RunToEndAsync("run", "-f", "whatever.yaml", "--dns", "127.0.0.1");
        Assert.True(exit == 2, $"exit {exit}:\n{output}");
        Assert.Contains("--dns: expected ADDR:PORT (such as 127.0.0.1:5353) or off, got \"127.0.0.1\"", output, StringComparison.Ordinal);

        (exit, output) = await SidecarProcess.RunToEndAsync("run", "-f", "whatever.yaml", "--cluster-domain", "bad_domain");
        Assert.True(exit == 2, $"exit {exit}:\n{output}");
        Assert.Contains("--cluster-domain: expected a DNS name", output, StringComparison.Ordinal);

        var (prefix, vip) = NextAddresses();
        using var folder = new TempFolder();
        folder.Write("web.yaml", WebManifest(vip, 8080, prefix, retired: null, pods: 1));
        using var taken = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Parse(prefix + "203"), 5353));
        (exit, output) = await SidecarProcess.RunToEndAsync("run", "-f", folder.Path, "--node-address", prefix + "200", "--admin", "off", "--dns", prefix + "203:5353");
        Assert.True(exit == 1, $"exit {exit}:\n{output}");
        Assert.Contains($"--dns {prefix}203:5353: cannot listen", output, StringComparison.Ordinal);
    }

    private static readonly int ProcessByte = Random.Shared.Next(1, 250);
    private static int _next;

    /// <summary>
    /// A /24 of pod addresses (pods .1-.4, node address .200, admin .201) and a virtual IP, in ranges
    /// no other test uses (pods 127.160+n.R.x, virtual IPs 127.98.R.n), with R random per test run: another
    /// test run on the same machine using the
    /// same virtual IP (another checkout's suite uses <see cref="TestAddresses"/>' ranges) would answer some connections.
    /// </summary>
    private static (string PodPrefix, IPAddress VirtualIP) NextAddresses()
    {
        var n = Interlocked.Increment(ref _next);
        return ($"127.{160 + n}.{ProcessByte}.", IPAddress.Parse($"127.98.{ProcessByte}.{n}"));
    }

    private static string WebManifest(IPAddress vip, int targetPort, string podPrefix, string? retired, int pods = 2)
    {
        var text = new StringBuilder($"""
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              annotations:
                fastproxy.io/balancer: round-robin
            spec:
              clusterIP: {vip}
              selector:
                app: web
              ports:
                - name: http
                  port: 8080
                  targetPort: {targetPort}

            """);
        for (var i = 1; i <= pods; i++)
        {
            var name = $"web-{i}";
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"""
                ---
                apiVersion: v1
                kind: Pod
                metadata:
                  name: {name}
                  labels:
                    app: {(name == retired ? "retired" : "web")}
                status:
                  podIP: {podPrefix}{i}

                """);
        }

        return text.ToString();
    }

    /// <summary>Writes a new version of a file the way editors save: to a temporary file, renamed over the old one.</summary>
    private static void ReplaceByRename(string path, string content) => ReplaceByRename(path, Encoding.UTF8.GetBytes(content));

    /// <summary>Replaces a file in one step, as editors do: a hidden temporary beside it, renamed over it.</summary>
    internal static void ReplaceByRename(string path, byte[] content)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".swp");
        File.WriteAllBytes(temporary, content);
        File.Move(temporary, path, overwrite: true);
    }
}
