using System.Net;
using System.Text.Json;
using FastProxy.Etcd;
using FastProxy.Sidecar.Tests;

namespace FastProxy.Tests.Etcd;

/// <summary>
/// Real <c>fastproxy run --etcd</c> processes sharing one real etcd: every node sees the same changes, and
/// with a consistent-hashing balancer every node picks the same pod for the same client, without the
/// nodes talking to each other. Each node has its own loopback node address, admin address and service
/// CIDR (so each binds its own virtual IP for the same Service).
/// </summary>
[Collection(EtcdTests.Name)]
public sealed class EtcdSidecarTests
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(90);
    private static int _nextNode;

    [Fact]
    public async Task TwoSidecars_SeeTheSameChanges()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var (pods, _) = TestAddresses.Next();
        var backends = TestBackend.StartMany("web", pods, 2);
        var nodes = new List<Node>();
        try
        {
            var port = backends[0].EndPoint.Port;
            await etcd.PutAsync(EtcdManifests.ServiceKey("web"), EtcdManifests.Service("web", 18080, port));
            await etcd.PutAsync(EtcdManifests.PodKey("web-1"), EtcdManifests.Pod("web-1", backends[0].EndPoint.Address));
            nodes.Add(await Node.StartAsync(etcd));
            nodes.Add(await Node.StartAsync(etcd));

            foreach (var node in nodes)
            {
                var vip = await node.VirtualEndPointAsync("web");
                await EtcdManifests.EventuallyAsync(async () => await TestClient.WhoServesAsync(vip) == "web-1", $"web-1 serves through node {node.Address}");
            }

            // A pod registers itself under a lease: both nodes see it; it deregisters: both drop it.
            var registration = new EtcdPodRegistration(new EtcdPodRegistrationOptions { Endpoint = etcd.ClientUrl, Manifest = EtcdManifests.Pod("web-2", backends[1].EndPoint.Address), Ttl = TimeSpan.FromSeconds(5) });
            try
            {
                registration.Start();
                foreach (var node in nodes)
                {
                    await EtcdManifests.EventuallyAsync(async () => (await node.EndpointPodsAsync()).SequenceEqual(["default/web-1", "default/web-2"]), $"node {node.Address} saw web-2 register");
                }
            }
            finally
            {
                await registration.DisposeAsync();
            }

            foreach (var node in nodes)
            {
                await EtcdManifests.EventuallyAsync(async () => (await node.EndpointPodsAsync()).SequenceEqual(["default/web-1"]), $"node {node.Address} saw web-2 leave");
            }

            await etcd.DeleteAsync(EtcdManifests.ServiceKey("web"));
            foreach (var node in nodes)
            {
                await EtcdManifests.EventuallyAsync(async () => (await node.GetJsonAsync("/api/services")).GetProperty("services").GetArrayLength() == 0, $"node {node.Address} removed the service");
                var status = await node.GetJsonAsync("/api/sources");
                Assert.True(status.GetProperty("etcd").GetProperty("connected").GetBoolean());
            }
        }
        finally
        {
            await DisposeAllAsync(nodes, backends);
        }
    }

    [Fact]
    public async Task Run_TakesOneSource_AndNamesABadEtcdOption()
    {
        await AssertUsageErrorAsync("-f, --etcd: give one source", "run", "-f", "whatever.yaml", "--etcd", "http://127.0.0.1:2379");

        await AssertUsageErrorAsync("--etcd: expected an etcd client URL", "run", "--etcd", "127.0.0.1:2379");

        await AssertUsageErrorAsync("--etcd-prefix: expected a key prefix", "run", "--etcd", "http://127.0.0.1:2379", "--etcd-prefix", "fastproxy");

        var (exit, output) = await SidecarProcess.RunToEndAsync("run", "--help");
        Assert.Equal(0, exit);
        Assert.Contains("--etcd", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_EtcdPrefixWithoutEtcd_AndWatchWithEtcd_AreUsageErrors()
    {
        await AssertUsageErrorAsync("--etcd-prefix: only with --etcd", "run", "-f", "whatever.yaml", "--etcd-prefix", "/other/");

        await AssertUsageErrorAsync("--no-watch: only with -f files", "run", "--etcd", "http://127.0.0.1:2379", "--no-watch");

        await AssertUsageErrorAsync("--watch: only with -f files", "run", "--etcd", "http://127.0.0.1:2379", "--watch");

        var (exit, output) = await SidecarProcess.RunToEndAsync("run", "--help");
        Assert.Equal(0, exit);
        Assert.Contains("With --etcd: the namespace of values that name none", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SigtermWhileWaitingForTheFirstList_StopsCleanly()
    {
        // Nothing listens there: the source keeps retrying and run waits (10 s) for a first list.
        var address = IPAddress.Parse($"127.213.{1 + (Environment.ProcessId % 250)}.1");
        var unreachable = new Uri($"http://{address}:{EtcdServer.FreePort(address)}");
        await using var sidecar = SidecarProcess.Start("run", "--etcd", unreachable.ToString(), "--admin", "off", "--dns", "off");
        await sidecar.WaitForLineAsync("unreachable or failed", Startup);

        // Well within the 10 s wait: the stop ends the wait, not its timeout.
        await StopsCleanlyOnSigtermAsync(sidecar, TimeSpan.FromSeconds(8));
        Assert.DoesNotContain("Exception", sidecar.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Press Ctrl+C to stop.", sidecar.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SigtermWhileFollowingEtcd_StopsWithoutAFalseOutage()
    {
        await using var etcd = await EtcdServer.StartAsync();
        await using var sidecar = SidecarProcess.Start("run", "--etcd", etcd.ClientUrl.ToString(), "--admin", "off", "--dns", "off", "--drain-timeout", "1s");
        await sidecar.WaitForLineAsync("Press Ctrl+C to stop.", Startup);
        await sidecar.WaitForLineAsync("watching /fastproxy/", Startup);

        await StopsCleanlyOnSigtermAsync(sidecar, TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("unreachable or failed", sidecar.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("maglev")]
    [InlineData("ring-hash")]
    public async Task ThreeSidecars_PickTheSamePodForTheSameClient(string balancer)
    {
        await using var etcd = await EtcdServer.StartAsync();
        var (pods, _) = TestAddresses.Next();
        var backends = TestBackend.StartMany("web", pods, 5);
        var nodes = new List<Node>();
        try
        {
            var port = backends[0].EndPoint.Port;
            await etcd.PutAsync(EtcdManifests.ServiceKey("web"), EtcdManifests.Service("web", 18080, port, balancer: balancer));

            // One node is up before the pods exist and learns them from the watch, in registration order
            // (the reverse of their addresses); the others learn them from a list, in key order. The
            // picks must not depend on that order.
            nodes.Add(await Node.StartAsync(etcd));
            foreach (var backend in backends.Reverse())
            {
                await etcd.PutAsync(EtcdManifests.PodKey(backend.Name), EtcdManifests.Pod(backend.Name, backend.EndPoint.Address));
            }

            nodes.Add(await Node.StartAsync(etcd));
            nodes.Add(await Node.StartAsync(etcd));
            var vips = new List<IPEndPoint>();
            foreach (var node in nodes)
            {
                await EtcdManifests.EventuallyAsync(async () => (await node.EndpointPodsAsync()).Length == 5, $"node {node.Address} has the 5 pods");
                vips.Add(await node.VirtualEndPointAsync("web"));
            }

            Assert.Equal(3, vips.Distinct().Count());
            var picked = new HashSet<string>(StringComparer.Ordinal);
            for (var client = 1; client <= 40; client++)
            {
                // The hash key is the client's address (the default ClientAddress key): never the node's or the VIP's.
                var source = IPAddress.Parse($"127.213.{client}.{1 + (client % 7)}");
                var answers = new List<string>();
                foreach (var vip in vips)
                {
                    answers.Add(await TestClient.WhoServesAsync(vip, source));
                }

                Assert.True(answers.Distinct().Count() == 1, $"client {source}: the nodes picked {string.Join(", ", answers)}");
                picked.Add(answers[0]);
            }

            // Forty clients over five pods: the hash spreads them (every pod would be chosen with near certainty; three is a safe floor).
            Assert.True(picked.Count >= 3, $"only {string.Join(", ", picked)} were picked");
        }
        finally
        {
            await DisposeAllAsync(nodes, backends);
        }
    }

    /// <summary>Sends SIGTERM and checks the sidecar stopped as a normal stop does: exit 0, "stopped" logged.</summary>
    private static async Task StopsCleanlyOnSigtermAsync(SidecarProcess sidecar, TimeSpan timeout)
    {
        await sidecar.SignalAsync("TERM");
        var exit = await sidecar.WaitForExitAsync(timeout);
        Assert.True(exit == 0, $"exit {exit}:\n{sidecar.Output}");
        Assert.Contains("] stopped", sidecar.Output, StringComparison.Ordinal);
    }

    /// <summary>Runs the sidecar to its end and checks it stopped with a usage error (exit 2) that says <paramref name="expected"/>.</summary>
    private static async Task AssertUsageErrorAsync(string expected, params string[] args)
    {
        var (exit, output) = await SidecarProcess.RunToEndAsync(args);
        Assert.True(exit == 2, $"exit {exit}:\n{output}");
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    private static async Task DisposeAllAsync(List<Node> nodes, TestBackend[] backends)
    {
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }

        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }
    }

    /// <summary>One sidecar process: its own node address 127.212.N.1, admin at 127.212.N.2, virtual IPs from 127.212.N.128/25.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly SidecarProcess _process;
        private readonly HttpClient _http;

        private Node(SidecarProcess process, string address, Uri admin)
        {
            _process = process;
            Address = address;
            _http = new HttpClient { BaseAddress = admin, Timeout = TimeSpan.FromSeconds(10) };
        }

        public string Address { get; }

        public static async Task<Node> StartAsync(EtcdServer etcd)
        {
            var n = 1 + (Interlocked.Increment(ref _nextNode) % 250);
            var address = $"127.212.{n}.1";
            var admin = $"127.212.{n}.2:{EtcdServer.FreePort(IPAddress.Parse($"127.212.{n}.2"))}";
            var process = SidecarProcess.Start(
                "run", "--etcd", etcd.ClientUrl.ToString(), "--node-address", address, "--service-cidr", $"127.212.{n}.128/25",
                "--admin", admin, "--dns", "off", "--drain-timeout", "1s");
            var node = new Node(process, address, new Uri($"http://{admin}"));
            try
            {
                await process.WaitForLineAsync("Press Ctrl+C to stop.", Startup);
                return node;
            }
            catch
            {
                await node.DisposeAsync();
                throw;
            }
        }

        public async Task<JsonElement> GetJsonAsync(string path)
        {
            using var document = JsonDocument.Parse(await _http.GetStringAsync(new Uri(path, UriKind.Relative)));
            return document.RootElement.Clone();
        }

        public async Task<IPEndPoint> VirtualEndPointAsync(string service)
        {
            var services = (await GetJsonAsync("/api/endpoints")).GetProperty("services");
            foreach (var s in services.EnumerateArray())
            {
                if (s.GetProperty("name").GetString() == service)
                {
                    return IPEndPoint.Parse(s.GetProperty("ports")[0].GetProperty("virtual").GetString()!);
                }
            }

            throw new InvalidOperationException($"node {Address} has no service {service}: {services}");
        }

        public async Task<string[]> EndpointPodsAsync()
        {
            var services = (await GetJsonAsync("/api/endpoints")).GetProperty("services");
            return [.. services.EnumerateArray()
                .SelectMany(s => s.GetProperty("ports").EnumerateArray())
                .SelectMany(p => p.GetProperty("endpoints").EnumerateArray())
                .Select(e => e.GetProperty("pod").GetString() ?? "?")
                .Order(StringComparer.Ordinal)];
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await _process.DisposeAsync();
        }
    }
}
