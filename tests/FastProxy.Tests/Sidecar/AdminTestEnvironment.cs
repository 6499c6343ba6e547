using System.Net;
using System.Text;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Sidecar.Admin;
using FastProxy.Tests;
using FastProxy.Transport.Tests;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Sidecar.Tests;

/// <summary>
/// A sidecar in miniature on this test's own loopback addresses: two services with real backend pods
/// in every endpoint condition, a started proxy built with the sidecar's telemetry, and the admin
/// server on a free port.
/// <list type="bullet">
/// <item><c>default/web</c> (ClusterIP, port <c>http</c>): web-1 and web-2 ready with backends; web-3 not
/// ready; web-4 terminating (serving, not ready). Only web-1 and web-2 take connections.</item>
/// <item><c>default/api</c> (NodePort, externalTrafficPolicy Local, ClientIP affinity, least-connections):
/// api-1 on this node (both routes), api-2 on another node (virtual IP route only).</item>
/// </list>
/// </summary>
internal sealed class AdminTestEnvironment : IAsyncDisposable
{
    public const int WebPort = 18080;
    public const int ApiPort = 19090;
    public const string NodeName = "node-a";
    public static readonly byte[] Payload = Encoding.ASCII.GetBytes("ping-through-the-proxy");

    private readonly List<TestBackend> _backends;

    private AdminTestEnvironment(ServiceCatalog catalog, SidecarTelemetry telemetry, ProxyServer proxy, AdminServer admin, List<TestBackend> backends, IPEndPoint web, IPEndPoint api)
    {
        Catalog = catalog;
        Telemetry = telemetry;
        Proxy = proxy;
        Admin = admin;
        _backends = backends;
        WebVirtualEndPoint = web;
        ApiVirtualEndPoint = api;
        Http = new HttpClient { BaseAddress = admin.DashboardUri, Timeout = TimeSpan.FromSeconds(10) };
    }

    public ServiceCatalog Catalog { get; }

    public SidecarTelemetry Telemetry { get; }

    public ProxyServer Proxy { get; }

    public AdminServer Admin { get; }

    public HttpClient Http { get; }

    public IPEndPoint WebVirtualEndPoint { get; }

    public IPEndPoint ApiVirtualEndPoint { get; }

    /// <summary>web-1, web-2 (ready, serving), api-1, api-2.</summary>
    public IReadOnlyList<TestBackend> Backends => _backends;

    public TestBackend Backend(string name) => _backends.Single(b => b.Name == name);

    public string WebAddress(int pod) => Backend($"web-{pod}").EndPoint.ToString();

    public static async Task<AdminTestEnvironment> StartAsync(string? bearerToken = null, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory = null)
    {
        var (webPrefix, webVip) = TestAddresses.Next();
        var (apiPrefix, apiVip) = TestAddresses.Next();
        var backends = TestBackend.StartMany("web", webPrefix, 2).Concat(TestBackend.StartMany("api", apiPrefix, 2)).ToList();
        var webTarget = backends[0].EndPoint.Port;
        var apiTarget = backends[2].EndPoint.Port;

        var options = new ServiceCatalogOptions { NodeName = NodeName };
        options.NodeAddresses.Clear();
        options.NodeAddresses.Add(IPAddress.Parse(apiPrefix + "100")); // node ports on this test's own loopback address
        var catalog = new ServiceCatalog(options);
        var update = new CatalogUpdate()
            .SetService(new Service
            {
                Name = "web",
                ClusterIP = webVip,
                Selector = Selector("web"),
                Ports = [new ServicePort { Name = "http", Port = WebPort, TargetPort = webTarget }],
            })
            .SetService(new Service
            {
                Name = "api",
                Type = ServiceType.NodePort,
                ClusterIP = apiVip,
                Selector = Selector("api"),
                Balancer = Balancing.BalancingStrategies.LeastConnections,
                SessionAffinity = SessionAffinity.ClientIP,
                SessionAffinityTimeout = TimeSpan.FromSeconds(60),
                ExternalTrafficPolicy = TrafficPolicy.Local,
                Ports = [new ServicePort { Name = "grpc", Port = ApiPort, TargetPort = apiTarget }],
            })
            .SetPod(Pod("web-1", webPrefix + "1", "web"))
            .SetPod(Pod("web-2", webPrefix + "2", "web") with { NodeName = NodeName, Zone = "zone-1", Weight = 3 })
            .SetPod(Pod("web-3", webPrefix + "3", "web") with { Ready = false })
            .SetPod(Pod("web-4", webPrefix + "4", "web") with { Terminating = true })
            .SetPod(Pod("api-1", apiPrefix + "1", "api") with { NodeName = NodeName })
            .SetPod(Pod("api-2", apiPrefix + "2", "api") with { NodeName = "node-b" });
        catalog.Apply(update);

        var telemetry = new SidecarTelemetry();
        var proxy = new ProxyServerBuilder(catalog)
            .UseSockets()
            .UseSidecarTelemetry(telemetry)
            .UseLoggerFactory(loggerFactory ?? NullLoggerFactory.Instance)
            .Configure(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2))
            .Build();
        await proxy.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));

        // Port 0 on an address of this test's own: parallel tests never collide, and nothing but loopback is bound.
        var admin = new AdminServer(catalog, proxy, telemetry, new AdminServerOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Parse(webPrefix + "200"), 0),
            BearerToken = bearerToken,
        }, loggerFactory ?? NullLoggerFactory.Instance);
        await admin.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return new AdminTestEnvironment(catalog, telemetry, proxy, admin, backends, new IPEndPoint(webVip, WebPort), new IPEndPoint(apiVip, ApiPort));

        static LabelSelector Selector(string app) => new(new Dictionary<string, string> { ["app"] = app });

        static Pod Pod(string name, string address, string app) => new()
        {
            Name = name,
            Address = IPAddress.Parse(address),
            Labels = new Dictionary<string, string> { ["app"] = app },
        };
    }

    /// <summary>
    /// One full connection through the proxy: reads the pod's greeting, sends <see cref="Payload"/>, reads
    /// the echo, half-closes and reads to the end. Returns the pod's name.
    /// </summary>
    public static async Task<string> RoundTripAsync(IPEndPoint virtualEndPoint)
    {
        await using var client = await TestClient.ConnectAsync(virtualEndPoint);
        var pod = await client.ReadLineAsync();
        await client.SendAsync(Payload);
        Assert.Equal(Payload, await client.ReadExactlyAsync(Payload.Length));
        client.ShutdownSend();
        Assert.Empty(await client.ReadToEndAsync());
        return pod;
    }

    /// <summary>Bytes a pod sends for one <see cref="RoundTripAsync"/>: its greeting line and the echo.</summary>
    public static long BytesFromPod(string pod) => pod.Length + 1 + Payload.Length;

    /// <summary>Waits until no connection of the catalog is open, so every counter has its final value.</summary>
    public async Task WaitForIdleAsync()
        => Assert.True(await TestIO.EventuallyAsync(() => Catalog.Current.Services.Values
            .SelectMany(s => s.Ports).SelectMany(p => p.AllEndpoints).All(e => e.ActiveConnections == 0)), "connections still open");

    public async Task<HttpResponseMessage> GetAsync(string path, string? authorization = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return await Http.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Admin.DisposeAsync();
        await Proxy.DisposeAsync();
        Telemetry.Dispose();
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }
}
