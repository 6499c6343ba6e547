using System.Net;
using FastProxy.Catalog;
using FastProxy.Etcd;
using FastProxy.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FastProxy.Tests.Etcd;

/// <summary>The catalog source against a real etcd: list, watch, refused values, leases, etcd going away and coming back, compaction.</summary>
[Collection(EtcdTests.Name)]
public sealed class EtcdCatalogSourceTests
{
    private static readonly NamespacedName Web = new("default", "web");

    [Fact]
    public async Task Source_ListsAtARevision_ThenWatchesAddsUpdatesAndDeletes()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var (pods, vip) = TestAddresses.Next();
        await etcd.PutAsync(EtcdManifests.ServiceKey("web"), EtcdManifests.Service("web", 80, 8080, vip));
        await etcd.PutAsync(EtcdManifests.PodKey("web-1"), EtcdManifests.Pod("web-1", IPAddress.Parse(pods + "1")));

        var catalog = new ServiceCatalog();
        await using var source = new EtcdCatalogSource(catalog, new EtcdCatalogOptions { Endpoint = etcd.ClientUrl });
        await source.StartAsync(CancellationToken.None);
        await source.Synced.WaitAsync(TimeSpan.FromSeconds(60));

        // The initial list is one catalog version holding both objects.
        Assert.Equal(1, catalog.Current.Version);
        Assert.Equal(["default/web-1"], EndpointPods(catalog));
        Assert.True(source.Status.Connected);
        Assert.Equal(2, source.Status.Objects);

        await etcd.PutAsync(EtcdManifests.PodKey("web-2"), EtcdManifests.Pod("web-2", IPAddress.Parse(pods + "2")));
        await EtcdManifests.EventuallyAsync(() => EndpointPods(catalog).SequenceEqual(["default/web-1", "default/web-2"]), "web-2 was added by the watch");

        await etcd.PutAsync(EtcdManifests.PodKey("web-1"), EtcdManifests.Pod("web-1", IPAddress.Parse(pods + "1"), weight: 7));
        await EtcdManifests.EventuallyAsync(() => Endpoints(catalog).Any(e => e.Pod?.Name == "web-1" && e.Weight == 7), "web-1's weight was updated");

        var revision = await etcd.DeleteAsync(EtcdManifests.PodKey("web-1"));
        await EtcdManifests.EventuallyAsync(() => EndpointPods(catalog).SequenceEqual(["default/web-2"]), "web-1 was deleted");
        await EtcdManifests.EventuallyAsync(() => source.Status.Revision >= revision, "the status reached the delete's revision");

        await etcd.DeleteAsync(EtcdManifests.ServiceKey("web"));
        await EtcdManifests.EventuallyAsync(() => !catalog.Current.Services.ContainsKey(Web), "the service was deleted");
        Assert.Equal(1, source.Status.Lists);
    }

    [Fact]
    public async Task InvalidValue_IsReportedWithKeyAndField_AndSkipped_TheLastGoodVersionKeepsServing()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var (pods, vip) = TestAddresses.Next();
        await etcd.PutAsync(EtcdManifests.ServiceKey("web"), EtcdManifests.Service("web", 80, 8080, vip));
        await etcd.PutAsync(EtcdManifests.PodKey("web-1"), EtcdManifests.Pod("web-1", IPAddress.Parse(pods + "1")));
        // Refused at the first list: a malformed address, and a value whose name is not the key's.
        await etcd.PutAsync(EtcdManifests.PodKey("bad-ip"), EtcdManifests.Pod("bad-ip", IPAddress.Loopback).Replace("127.0.0.1", "999.1.1.1", StringComparison.Ordinal));
        await etcd.PutAsync(EtcdManifests.PodKey("other-name"), EtcdManifests.Pod("web-9", IPAddress.Parse(pods + "9")));

        using var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        var catalog = new ServiceCatalog();
        await using var source = new EtcdCatalogSource(catalog, new EtcdCatalogOptions { Endpoint = etcd.ClientUrl }, loggerFactory);
        await source.StartAsync(CancellationToken.None);
        await source.Synced.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(["default/web-1"], EndpointPods(catalog));
        Assert.Equal(2, source.Status.RejectedKeys);
        Assert.Contains(logs.Messages, m => m.Contains("/fastproxy/pods/default/bad-ip", StringComparison.Ordinal) && m.Contains("status.podIP", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("/fastproxy/pods/default/other-name", StringComparison.Ordinal) && m.Contains("the key names", StringComparison.Ordinal));

        // A bad update of a served pod: reported, and the pod's last good version stays.
        var version = catalog.Current.Version;
        await etcd.PutAsync(EtcdManifests.PodKey("web-1"), """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","labels":{"app":"web"},"annotations":{"fastproxy.io/weight":"heavy"}},"spec":{},"status":{"phase":"Running","podIP":"127.0.0.1"}}""");
        await EtcdManifests.EventuallyAsync(() => logs.Messages.Any(m => m.Contains("/fastproxy/pods/default/web-1", StringComparison.Ordinal) && m.Contains("fastproxy.io/weight", StringComparison.Ordinal)), "the bad weight was reported");
        Assert.Equal(version, catalog.Current.Version);
        Assert.Equal(["default/web-1"], EndpointPods(catalog));
        Assert.Equal(IPAddress.Parse(pods + "1"), Endpoints(catalog).Single().EndPoint.Address);

        // One the manifest reader accepts but the catalog refuses (the cluster IP of another service): skipped alone.
        await etcd.PutAsync(EtcdManifests.ServiceKey("clash"), EtcdManifests.Service("clash", 80, 8080, vip));
        await etcd.PutAsync(EtcdManifests.PodKey("web-2"), EtcdManifests.Pod("web-2", IPAddress.Parse(pods + "2")));
        await EtcdManifests.EventuallyAsync(() => EndpointPods(catalog).Contains("default/web-2"), "web-2 was added after the refused service");
        Assert.False(catalog.Current.Services.ContainsKey(new NamespacedName("default", "clash")));
        Assert.Contains(logs.Messages, m => m.Contains("/fastproxy/services/default/clash", StringComparison.Ordinal));

        // Fixed: applied.
        await etcd.PutAsync(EtcdManifests.PodKey("web-1"), EtcdManifests.Pod("web-1", IPAddress.Parse(pods + "1"), weight: 3));
        await EtcdManifests.EventuallyAsync(() => Endpoints(catalog).Any(e => e.Pod?.Name == "web-1" && e.Weight == 3), "the fixed web-1 was applied");
    }

    [Fact]
    public async Task PodUnderALease_DisappearsWhenTheLeaseExpires_AndARegistrationRevokesOnDispose()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var (pods, vip) = TestAddresses.Next();
        await etcd.PutAsync(EtcdManifests.ServiceKey("web"), EtcdManifests.Service("web", 80, 8080, vip));
        var catalog = new ServiceCatalog();
        await using var source = new EtcdCatalogSource(catalog, new EtcdCatalogOptions { Endpoint = etcd.ClientUrl });
        await source.StartAsync(CancellationToken.None);
        await source.Synced.WaitAsync(TimeSpan.FromSeconds(60));

        // A pod that died: its lease is never kept alive, so etcd deletes its key at the TTL.
        var lease = await etcd.GrantLeaseAsync(2);
        await etcd.PutAsync(EtcdManifests.PodKey("dead"), EtcdManifests.Pod("dead", IPAddress.Parse(pods + "1")), lease);
        await EtcdManifests.EventuallyAsync(() => EndpointPods(catalog).Contains("default/dead"), "the leased pod appeared");
        await EtcdManifests.EventuallyAsync(() => !EndpointPods(catalog).Contains("default/dead"), "the leased pod left when its lease expired");

        // A live registration: kept alive well past its TTL, then revoked on dispose.
        var registration = new EtcdPodRegistration(new EtcdPodRegistrationOptions
        {
            Endpoint = etcd.ClientUrl,
            Manifest = EtcdManifests.Pod("alive", IPAddress.Parse(pods + "2")),
            Ttl = TimeSpan.FromSeconds(2),
        });
        try
        {
            registration.Start();
            await registration.Registered.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("/fastproxy/pods/default/alive", registration.Key);
            await EtcdManifests.EventuallyAsync(() => EndpointPods(catalog).Contains("default/alive"), "the registered pod appeared");
            await Task.Delay(TimeSpan.FromSeconds(5));   // 2.5 TTLs: only keep-alives hold it
            Assert.Contains("default/alive", EndpointPods(catalog));
        }
        finally
        {
            await registration.DisposeAsync();
        }

        await EtcdManifests.EventuallyAsync(() => !EndpointPods(catalog).Contains("default/alive"), "the deregistered pod left");
    }

    [Fact]
    public void Registration_RefusesAManifestThatIsNotOneRunningPod()
    {
        var notRunning = new EtcdPodRegistrationOptions { Manifest = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{},"status":{"phase":"Pending"}}""" };
        Assert.Contains("expected one running Pod", Assert.Throws<ArgumentException>(() => new EtcdPodRegistration(notRunning)).Message, StringComparison.Ordinal);
        var invalid = new EtcdPodRegistrationOptions { Manifest = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{},"status":{"phase":"Running","podIP":"x"}}""" };
        Assert.Contains("status.podIP", Assert.Throws<ArgumentException>(() => new EtcdPodRegistration(invalid)).Message, StringComparison.Ordinal);
        Assert.Contains("Prefix", Assert.Throws<ArgumentException>(() => new EtcdCatalogSource(new ServiceCatalog(), new EtcdCatalogOptions { Prefix = "fastproxy" })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EtcdStopped_TheProxyKeepsServingTheLastSnapshot_ThenResumes_AndListsAgainWhenCompacted()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var (pods, vip) = TestAddresses.Next();
        var backends = TestBackend.StartMany("web", pods, 3);
        try
        {
            var port = backends[0].EndPoint.Port;
            await etcd.PutAsync(EtcdManifests.ServiceKey("web"), EtcdManifests.Service("web", 18080, port, vip));
            await etcd.PutAsync(EtcdManifests.PodKey("web-1"), EtcdManifests.Pod("web-1", backends[0].EndPoint.Address));

            var catalog = new ServiceCatalog();
            await using var source = new EtcdCatalogSource(catalog, new EtcdCatalogOptions { Endpoint = etcd.ClientUrl, MaxRetryDelay = TimeSpan.FromSeconds(1) });
            await using var proxy = new ProxyServerBuilder(catalog).UseSockets().Configure(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2)).Build();
            await proxy.StartAsync();
            await source.StartAsync(CancellationToken.None);
            await source.Synced.WaitAsync(TimeSpan.FromSeconds(60));
            var virtualEndPoint = new IPEndPoint(vip, 18080);
            await EtcdManifests.EventuallyAsync(async () => await TestClient.WhoServesAsync(virtualEndPoint) == "web-1", "web-1 serves through the VIP");

            // etcd gone: the source notices, the proxy keeps serving what it had.
            await etcd.StopAsync();
            await EtcdManifests.EventuallyAsync(() => !source.Status.Connected, "the source saw etcd go");
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal("web-1", await TestClient.WhoServesAsync(virtualEndPoint));
            }

            Assert.Equal(["default/web-1"], EndpointPods(catalog));
            Assert.NotNull(source.Status.LastError);

            // Back on its port: the watch resumes from the last revision (no second list) and sees new changes.
            await etcd.StartAgainAsync();
            await etcd.PutAsync(EtcdManifests.PodKey("web-2"), EtcdManifests.Pod("web-2", backends[1].EndPoint.Address));
            await EtcdManifests.EventuallyAsync(() => EndpointPods(catalog).SequenceEqual(["default/web-1", "default/web-2"]), "web-2 was seen after the restart");
            Assert.Equal(1, source.Status.Lists);

            // Changed and compacted where the source cannot see (etcd on another port), then back: the
            // revision to resume from is gone, so the source lists again and applies the difference.
            await etcd.StopAsync();
            await EtcdManifests.EventuallyAsync(() => !source.Status.Connected, "the source saw etcd go again");
            await etcd.StartAgainAsync(EtcdServer.FreePort(IPAddress.Parse(etcd.ClientUrl.Host)));
            await etcd.PutAsync(EtcdManifests.PodKey("web-3"), EtcdManifests.Pod("web-3", backends[2].EndPoint.Address));
            await etcd.DeleteAsync(EtcdManifests.PodKey("web-1"));
            var last = await etcd.PutAsync("/fastproxy-other/unrelated", "x");
            await etcd.CompactAsync(last);
            await etcd.StopAsync();
            await etcd.StartAgainAsync();

            await EtcdManifests.EventuallyAsync(() => EndpointPods(catalog).SequenceEqual(["default/web-2", "default/web-3"]), "the relist after compaction applied the difference");
            Assert.Equal(2, source.Status.Lists);
            await EtcdManifests.EventuallyAsync(async () => await TestClient.WhoServesAsync(virtualEndPoint) is "web-2" or "web-3", "the new pods serve through the VIP");
        }
        finally
        {
            foreach (var backend in backends)
            {
                await backend.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Stop_WhileARequestIsInFlight_IsNotAnOutage()
    {
        // A loopback "etcd" that accepts the connection and never answers: the first list hangs in gRPC,
        // so the stop cancels a call in flight, which gRPC reports as RpcException(Cancelled).
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Parse($"127.214.{1 + (Environment.ProcessId % 250)}.1"), 0);
        silent.Start();
        var accepted = silent.AcceptSocketAsync();
        var endpoint = (IPEndPoint)silent.LocalEndpoint;
        var catalog = new ServiceCatalog(new ServiceCatalogOptions());
        await using var source = new EtcdCatalogSource(catalog, new EtcdCatalogOptions { Endpoint = new Uri($"http://{endpoint}"), RequestTimeout = TimeSpan.FromSeconds(30) });
        await source.StartAsync(CancellationToken.None);
        using var connection = await accepted.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(300);   // the request is written and waits for an answer

        await source.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(source.Status.LastError);
        Assert.False(source.Status.Connected);
    }

    [Fact]
    public async Task AddFastProxyEtcd_InAGenericHost_ServesWhatEtcdHolds_WithOneSourceWhenCalledTwice()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var (pods, vip) = TestAddresses.Next();
        await using var web1 = TestBackend.Start("web-1", new IPEndPoint(IPAddress.Parse(pods + "1"), 0));
        await etcd.PutAsync(EtcdManifests.ServiceKey("web"), EtcdManifests.Service("web", 18080, web1.EndPoint.Port, vip));
        await etcd.PutAsync(EtcdManifests.PodKey("web-1"), EtcdManifests.Pod("web-1", web1.EndPoint.Address));

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new Microsoft.Extensions.Hosting.HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddFastProxy().AddFastProxyEtcd(o => o.Endpoint = etcd.ClientUrl);
        builder.Services.AddFastProxyEtcd(o => o.Prefix = EtcdKeyLayout.DefaultPrefix);   // a second call: the same source, not two on one catalog
        var host = builder.Build();
        await using var disposal = (IAsyncDisposable)host;
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));

        var source = host.Services.GetRequiredService<EtcdCatalogSource>();
        Assert.Same(source, Assert.Single(host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<EtcdCatalogSource>()));
        Assert.Equal(etcd.ClientUrl, source.Status.Endpoint);
        await source.Synced.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Same(host.Services.GetRequiredService<ServiceCatalog>(), host.Services.GetRequiredService<ProxyServer>().Catalog);
        await EtcdManifests.EventuallyAsync(async () => await TestClient.WhoServesAsync(new IPEndPoint(vip, 18080)) == "web-1", "web-1 serves through the VIP of the hosted proxy");
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    private static System.Collections.Immutable.ImmutableArray<EndpointState> Endpoints(ServiceCatalog catalog)
        => catalog.Current.Services.TryGetValue(Web, out var service) ? service.Ports[0].AllEndpoints : [];

    private static string[] EndpointPods(ServiceCatalog catalog)
        => [.. Endpoints(catalog).Select(e => e.Pod?.ToString() ?? "?").Order(StringComparer.Ordinal)];
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EtcdTests
{
    public const string Name = "etcd";
}
