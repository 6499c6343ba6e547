using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Discovery.Tests;

/// <summary>
/// The in-process connector over real loopback sockets: no proxy runs, every connection goes straight
/// from the test to a <see cref="TestBackend"/> pod, which greets it with its name.
/// </summary>
public sealed class ServiceConnectorTests
{
    private const int ServicePort = 18080;

    [Theory]
    [InlineData("web")]
    [InlineData("web.default")]
    [InlineData("web.default.svc")]
    [InlineData("web.default.svc.cluster.local")]
    [InlineData("WEB.Default.Svc.Cluster.Local.")]
    public async Task ConnectAsync_EveryNameForm_ReachesAPodOfTheService(string host)
    {
        await using var pods = await Pods.StartAsync(2);
        var connector = new ServiceConnector(pods.Catalog, new ServiceConnectorOptions { FallbackToDns = false });

        var served = await WhoServesAsync(connector, host);

        Assert.Contains(served, pods.Names);
    }

    [Fact]
    public async Task ConnectAsync_TheServicesVirtualIP_ReachesAPodThoughNothingListensThere()
    {
        await using var pods = await Pods.StartAsync(2);
        var connector = new ServiceConnector(pods.Catalog, new ServiceConnectorOptions { FallbackToDns = false });

        var served = await WhoServesAsync(connector, pods.VirtualIP.ToString());

        Assert.Contains(served, pods.Names);
        var refused = await Assert.ThrowsAsync<SocketException>(() => TestClient.ConnectAsync(new IPEndPoint(pods.VirtualIP, ServicePort)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task ConnectAsync_DefaultNamespaceAndClusterDomain_AreThoseOfTheOptions()
    {
        await using var pods = await Pods.StartAsync(1, @namespace: "team");
        var connector = new ServiceConnector(pods.Catalog, new ServiceConnectorOptions { DefaultNamespace = "team", ClusterDomain = "corp.example.", FallbackToDns = false });

        Assert.Equal("web-1", await WhoServesAsync(connector, "web"));
        Assert.Equal("web-1", await WhoServesAsync(connector, "web.team.svc.corp.example"));
        var wrongDomain = await Assert.ThrowsAsync<IOException>(() => WhoServesAsync(connector, "web.team.svc.cluster.local"));
        Assert.Contains("web.team.svc.cluster.local:18080", wrongDomain.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectAsync_RoundRobin_SpreadsConnectionsEvenlyOverThePods()
    {
        await using var pods = await Pods.StartAsync(3);
        var connector = new ServiceConnector(pods.Catalog);

        var served = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            served.Add(await WhoServesAsync(connector, "web"));
        }

        Assert.All(pods.Names, name => Assert.Equal(3, served.Count(s => s == name)));
    }

    [Fact]
    public async Task ConnectAsync_APodWithItsPortClosed_IsSkippedAndTheConnectSucceedsOnAnother()
    {
        await using var pods = await Pods.StartAsync(3);
        await pods.Backends[1].DisposeAsync();
        var connector = new ServiceConnector(pods.Catalog);

        var served = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            served.Add(await WhoServesAsync(connector, "web"));
        }

        Assert.DoesNotContain("web-2", served);
        Assert.Contains("web-1", served);
        Assert.Contains("web-3", served);
        var dead = pods.Endpoint("web-2");
        Assert.True(dead.FailedConnects >= 1, $"failed connects to the dead pod: {dead.FailedConnects}");
        Assert.Equal(0, dead.ActiveConnections);
    }

    [Fact]
    public async Task ConnectAsync_APodThatDropsConnects_TimesOutAndAnotherPodIsTried()
    {
        await using var pods = await Pods.StartAsync(1);
        var frozen = new IPEndPoint(IPAddress.Parse(pods.PodPrefix + "9"), pods.TargetPort);
        using var blackhole = new BlackholeEndpoint(frozen);
        pods.Catalog.SetPod(new Pod { Name = "frozen", Address = frozen.Address, Labels = Pods.Labels });
        var connector = new ServiceConnector(pods.Catalog, new ServiceConnectorOptions { ConnectTimeout = TimeSpan.FromMilliseconds(200) });

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("web-1", await WhoServesAsync(connector, "web"));
        }

        Assert.True(pods.Endpoint("frozen").FailedConnects >= 1);
    }

    [Fact]
    public async Task ConnectAsync_CancelledWhileConnecting_ThrowsAndLeavesNoConnectionCounted()
    {
        await using var pods = await Pods.StartAsync(1);
        var frozen = new IPEndPoint(IPAddress.Parse(pods.PodPrefix + "9"), pods.TargetPort);
        using var blackhole = new BlackholeEndpoint(frozen);
        pods.Catalog.RemovePod(new NamespacedName("default", "web-1"));
        pods.Catalog.SetPod(new Pod { Name = "frozen", Address = frozen.Address, Labels = Pods.Labels });
        var connector = new ServiceConnector(pods.Catalog);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await connector.ConnectAsync("web", ServicePort, cancel.Token));

        var endpoint = pods.Endpoint("frozen");
        Assert.Equal(0, endpoint.ActiveConnections);
        Assert.Equal(0, endpoint.FailedConnects);
    }

    [Fact]
    public async Task ConnectAsync_ClientIPAffinity_KeepsTheProcessOnOnePod_AndMovesItWhenThePodDies()
    {
        await using var pods = await Pods.StartAsync(3, configure: s => s with { SessionAffinity = SessionAffinity.ClientIP });
        var connector = new ServiceConnector(pods.Catalog);

        var first = await WhoServesAsync(connector, "web");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(first, await WhoServesAsync(connector, "web"));
        }

        await pods.Backends.Single(b => b.Name == first).DisposeAsync();
        var second = await WhoServesAsync(connector, "web");
        Assert.NotEqual(first, second);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(second, await WhoServesAsync(connector, "web"));
        }
    }

    [Fact]
    public async Task ConnectAsync_OpenStreams_CountOnTheirEndpoints_UntilDisposedOnce()
    {
        await using var pods = await Pods.StartAsync(3);
        var connector = new ServiceConnector(pods.Catalog);

        var streams = new List<NetworkStream>();
        for (var i = 0; i < 3; i++)
        {
            streams.Add(await connector.ConnectAsync("web", ServicePort));
        }

        var endpoints = pods.Catalog.Current.Services[new NamespacedName("default", "web")].Ports[0].AllEndpoints;
        Assert.All(endpoints, e => Assert.Equal(1, e.ActiveConnections));
        Assert.All(endpoints, e => Assert.Equal(1, e.TotalConnections));

        foreach (var stream in streams)
        {
            stream.Dispose();
            await stream.DisposeAsync();
        }

        Assert.All(endpoints, e => Assert.Equal(0, e.ActiveConnections));
    }

    [Fact]
    public async Task ConnectAsync_LeastConnections_SeesTheConnectionsThisProcessHoldsOpen()
    {
        await using var pods = await Pods.StartAsync(3, configure: s => s with { Balancer = BalancingStrategies.LeastConnections });
        var connector = new ServiceConnector(pods.Catalog);

        // Each new connection must go to a pod this process holds no connection to yet.
        var held = new List<NetworkStream>();
        var served = new List<string>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var stream = await connector.ConnectAsync("web", ServicePort);
                held.Add(stream);
                served.Add(await ReadLineAsync(stream));
            }
        }
        finally
        {
            foreach (var stream in held)
            {
                await stream.DisposeAsync();
            }
        }

        Assert.Equal(pods.Names.Order(), served.Order());
    }

    [Fact]
    public async Task ConnectAsync_FollowsTheCatalog_PodsAddedAndRemovedWhileRunning()
    {
        await using var pods = await Pods.StartAsync(1);
        var connector = new ServiceConnector(pods.Catalog);
        Assert.Equal("web-1", await WhoServesAsync(connector, "web"));

        var added = pods.AddBackend();
        var served = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            served.Add(await WhoServesAsync(connector, "web"));
        }

        Assert.Equal(new[] { "web-1", added.Name }, served.Order());

        pods.Catalog.RemovePod(new NamespacedName("default", "web-1"));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(added.Name, await WhoServesAsync(connector, "web"));
        }
    }

    [Fact]
    public async Task ConnectAsync_AHostThatIsNoService_FallsBackToAPlainConnect_OrFailsNamingHostAndPort()
    {
        await using var pods = await Pods.StartAsync(1);
        var outside = pods.Backends[0].EndPoint;

        var fallingBack = new ServiceConnector(pods.Catalog);
        await using (var stream = await fallingBack.ConnectAsync(outside.Address.ToString(), outside.Port))
        {
            Assert.Equal("web-1", await ReadLineAsync(stream));
        }

        var strict = new ServiceConnector(pods.Catalog, new ServiceConnectorOptions { FallbackToDns = false });
        var error = await Assert.ThrowsAsync<IOException>(async () => await strict.ConnectAsync("payments", 3000));
        Assert.Contains("payments:3000", error.Message, StringComparison.Ordinal);
        Assert.Contains("no service", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectAsync_AServiceWithoutThatPort_OrWithoutEndpoints_FailsNamingTheService()
    {
        await using var pods = await Pods.StartAsync(1);
        var connector = new ServiceConnector(pods.Catalog);

        var wrongPort = await Assert.ThrowsAsync<IOException>(async () => await connector.ConnectAsync("web", 9999));
        Assert.Contains("default/web has no TCP port 9999 (its ports: 18080/Tcp)", wrongPort.Message, StringComparison.Ordinal);

        pods.Catalog.RemovePod(new NamespacedName("default", "web-1"));
        var empty = await Assert.ThrowsAsync<IOException>(async () => await connector.ConnectAsync("web", ServicePort));
        Assert.Contains("default/web port 18080 has no endpoint", empty.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectAsync_AnExternalNameService_IsFollowedToTheServiceItNames()
    {
        await using var pods = await Pods.StartAsync(1);
        pods.Catalog.SetService(new Service { Name = "alias", Namespace = "other", Type = ServiceType.ExternalName, ExternalName = "web.default.svc.cluster.local" });
        var connector = new ServiceConnector(pods.Catalog, new ServiceConnectorOptions { FallbackToDns = false });

        Assert.Equal("web-1", await WhoServesAsync(connector, "alias.other"));
    }

    [Fact]
    public async Task ConnectAsync_HeadlessServices_ReachTheirReadyPods_WithAndWithoutPorts()
    {
        await using var pods = await Pods.StartAsync(2, configure: s => s with { ClusterIP = null, Headless = true });
        pods.Catalog.SetService(new Service { Name = "portless", Headless = true, Selector = new LabelSelector(Pods.Labels) });
        var connector = new ServiceConnector(pods.Catalog, new ServiceConnectorOptions { FallbackToDns = false });

        var viaPort = new HashSet<string>();
        var viaPortless = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            viaPort.Add(await WhoServesAsync(connector, "web"));

            // Without ports the caller's port is the pods' port, as with the addresses DNS gives for such a service.
            await using var stream = await connector.ConnectAsync("portless", pods.TargetPort);
            viaPortless.Add(await ReadLineAsync(stream));
        }

        Assert.Equal(pods.Names.Order(), viaPort.Order());
        Assert.Equal(pods.Names.Order(), viaPortless.Order());
    }

    [Fact]
    public void Constructor_ASettingOutOfRange_IsRejectedNamingIt()
    {
        var catalog = new ServiceCatalog();

        var attempts = Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceConnector(catalog, new ServiceConnectorOptions { ConnectAttempts = 0 }));
        Assert.Equal("ConnectAttempts", attempts.ParamName);
        var domain = Assert.Throws<ArgumentException>(() => new ServiceConnector(catalog, new ServiceConnectorOptions { ClusterDomain = "." }));
        Assert.Equal("ClusterDomain", domain.ParamName);
    }

    private static async Task<string> WhoServesAsync(ServiceConnector connector, string host)
    {
        await using var stream = await connector.ConnectAsync(host, ServicePort).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return await ReadLineAsync(stream);
    }

    /// <summary>The pod's greeting: its name, then a newline.</summary>
    private static async Task<string> ReadLineAsync(Stream stream)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await stream.ReadAsync(one, timeout.Token) == 1 && one[0] != '\n')
        {
            line.Append((char)one[0]);
        }

        return line.ToString();
    }

    /// <summary>N backend pods and a catalog with service <c>web</c> (port 18080) selecting them; no proxy.</summary>
    private sealed class Pods : IAsyncDisposable
    {
        public static readonly Dictionary<string, string> Labels = new() { ["app"] = "web" };

        private Pods(ServiceCatalog catalog, List<TestBackend> backends, string podPrefix, IPAddress virtualIP)
        {
            Catalog = catalog;
            Backends = backends;
            PodPrefix = podPrefix;
            VirtualIP = virtualIP;
        }

        public ServiceCatalog Catalog { get; }

        public List<TestBackend> Backends { get; }

        public string PodPrefix { get; }

        public IPAddress VirtualIP { get; }

        public int TargetPort => Backends[0].EndPoint.Port;

        public IEnumerable<string> Names => Backends.Select(b => b.Name);

        public static Task<Pods> StartAsync(int count, string @namespace = NamespacedName.DefaultNamespace, Func<Service, Service>? configure = null)
        {
            var (podPrefix, virtualIP) = TestAddresses.Next();
            var backends = TestBackend.StartMany("web", podPrefix, count).ToList();
            var service = new Service
            {
                Name = "web",
                Namespace = @namespace,
                ClusterIP = virtualIP,
                Selector = new LabelSelector(Labels),
                Ports = [new ServicePort { Port = ServicePort, TargetPort = backends[0].EndPoint.Port }],
            };
            var update = new CatalogUpdate().SetService(configure?.Invoke(service) ?? service);
            foreach (var backend in backends)
            {
                update.SetPod(new Pod { Name = backend.Name, Namespace = @namespace, Address = backend.EndPoint.Address, Labels = Labels });
            }

            var catalog = new ServiceCatalog();
            catalog.Apply(update);
            return Task.FromResult(new Pods(catalog, backends, podPrefix, virtualIP));
        }

        public EndpointState Endpoint(string pod)
            => Catalog.Current.Services.Values.SelectMany(s => s.Ports).SelectMany(p => p.AllEndpoints).Single(e => e.Pod?.Name == pod);

        /// <summary>Starts one more pod on the next address of this block and adds it to the catalog.</summary>
        public TestBackend AddBackend()
        {
            var backend = TestBackend.Start($"web-{Backends.Count + 1}", new IPEndPoint(IPAddress.Parse(PodPrefix + (Backends.Count + 1)), TargetPort));
            Backends.Add(backend);
            Catalog.SetPod(new Pod { Name = backend.Name, Address = backend.EndPoint.Address, Labels = Labels });
            return backend;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var backend in Backends)
            {
                await backend.DisposeAsync();
            }
        }
    }
}
