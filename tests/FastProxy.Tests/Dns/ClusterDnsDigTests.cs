using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Dns.Tests;

/// <summary>
/// Every record kind of the Kubernetes DNS specification, asked by <c>dig</c> (an independent client)
/// of a <see cref="ClusterDnsServer"/> on loopback. Nothing binds the service or pod addresses: DNS
/// only names them. They are 127.100.53.0/24 (ClusterIPs) and 127.53.200.0/24 (pods).
/// </summary>
public sealed class ClusterDnsDigTests
{
    private const string Zone = "cluster.local";

    [Fact]
    public async Task A_ForAClusterIPService_IsItsClusterIP_Authoritative_WithTheDefaultTtl_AnyCase()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        var result = await dns.DigAsync("web.default.svc.cluster.local", "A");
        Assert.Equal("NOERROR", result.Status);
        Assert.Contains("aa", result.Flags);
        var record = Assert.Single(result.Answer);
        Assert.Equal(("web.default.svc.cluster.local.", 5, "A", "127.100.53.10"), (record.Name, record.Ttl, record.Type, record.Data));

        // Names compare case-insensitively; dig checks the question comes back as it was spelled.
        var mixed = await dns.DigAsync("WEB.Default.Svc.Cluster.LOCAL", "A");
        Assert.Equal(["127.100.53.10"], mixed.AnswerData("A"));
        Assert.Equal("WEB.Default.Svc.Cluster.LOCAL.", Assert.Single(mixed.Answer).Name);
    }

    [Fact]
    public async Task Aaaa_ForAnIPv6Service_IsItsClusterIP_AndAnIPv4ServiceHasNoAaaa_NoData()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        var v6 = await dns.DigAsync("web6.default.svc.cluster.local", "AAAA");
        Assert.Equal(["fd00::53:10"], v6.AnswerData("AAAA"));

        // The name exists, the type does not: NODATA, i.e. NOERROR, no answer, the SOA for negative caching.
        var noData = await dns.DigAsync("web.default.svc.cluster.local", "AAAA");
        Assert.Equal("NOERROR", noData.Status);
        Assert.Empty(noData.Answer);
        var soa = Assert.Single(noData.Authority);
        Assert.Equal(("cluster.local.", "SOA"), (soa.Name, soa.Type));
        Assert.StartsWith("ns.dns.cluster.local. hostmaster.cluster.local. ", soa.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Srv_ForANamedPort_PointsAtTheServiceName_WithItsAddressAsAdditionalData()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        var tcp = await dns.DigAsync("_http._tcp.web.default.svc.cluster.local", "SRV");
        Assert.Equal(["0 100 80 web.default.svc.cluster.local."], tcp.AnswerData("SRV"));
        Assert.Contains(tcp.Additional, r => r is { Name: "web.default.svc.cluster.local.", Type: "A", Data: "127.100.53.10" });

        var udp = await dns.DigAsync("_dns._udp.web.default.svc.cluster.local", "SRV");
        Assert.Equal(["0 100 53 web.default.svc.cluster.local."], udp.AnswerData("SRV"));

        // The port is UDP, not TCP: no such name.
        Assert.Equal("NXDOMAIN", (await dns.DigAsync("_dns._tcp.web.default.svc.cluster.local", "SRV")).Status);
        // _tcp.<service> is an empty non-terminal (a named TCP port lives below it): NODATA, not NXDOMAIN.
        var nonTerminal = await dns.DigAsync("_tcp.web.default.svc.cluster.local", "SRV");
        Assert.Equal(("NOERROR", 0), (nonTerminal.Status, nonTerminal.Answer.Count));
    }

    [Fact]
    public async Task Ptr_ForClusterIPs_v4AndV6_NamesTheService()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        Assert.Equal(["web.default.svc.cluster.local."], (await dns.DigAsync("-x", "127.100.53.10")).AnswerData("PTR"));
        Assert.Equal(["web6.default.svc.cluster.local."], (await dns.DigAsync("-x", "fd00::53:10")).AnswerData("PTR"));

        // An address no service has is not this server's to answer.
        Assert.Equal("REFUSED", (await dns.DigAsync("-x", "127.100.53.99")).Status);
    }

    [Fact]
    public async Task Headless_AIsEveryReadyEndpoint_HostnamesAndGeneratedNamesResolve_PtrNamesThem()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        var all = await dns.DigAsync("db.data.svc.cluster.local", "A");
        // db-3 is not ready: left out.
        Assert.Equal(["127.53.200.11", "127.53.200.12", "127.53.200.13"], all.AnswerData("A").Order());

        Assert.Equal(["127.53.200.11"], (await dns.DigAsync("db-0.db.data.svc.cluster.local", "A")).AnswerData("A"));
        // db-2 has no hostname: its name is the spec's system-assigned one, the address with dashes.
        Assert.Equal(["127.53.200.13"], (await dns.DigAsync("127-53-200-13.db.data.svc.cluster.local", "A")).AnswerData("A"));
        Assert.Equal("NXDOMAIN", (await dns.DigAsync("db-3.db.data.svc.cluster.local", "A")).Status);

        Assert.Equal(["db-0.db.data.svc.cluster.local."], (await dns.DigAsync("-x", "127.53.200.11")).AnswerData("PTR"));
    }

    [Fact]
    public async Task Headless_Srv_IsOnePerReadyEndpoint_TargetingItsOwnName_AtItsOwnPort()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        var result = await dns.DigAsync("_pg._tcp.db.data.svc.cluster.local", "SRV");
        Assert.Equal(
            ["0 33 5432 127-53-200-13.db.data.svc.cluster.local.", "0 33 5432 db-0.db.data.svc.cluster.local.", "0 33 5432 db-1.db.data.svc.cluster.local."],
            result.AnswerData("SRV").Order(StringComparer.Ordinal));
        Assert.Contains(result.Additional, r => r is { Name: "db-1.db.data.svc.cluster.local.", Type: "A", Data: "127.53.200.12" });
    }

    [Fact]
    public async Task Headless_PublishNotReadyAddresses_CountsUnreadyPods_AndAPortlessServiceStillPublishesHostnames()
    {
        var catalog = Catalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(new Service { Name = "peers", Namespace = "data", Headless = true, PublishNotReadyAddresses = true, Selector = Selector("peers") })
            .SetPod(Pod("peer-0", "data", "127.53.200.21", "peers", ready: false, hostname: "peer-0", subdomain: "peers"))
            .SetPod(Pod("peer-1", "data", "127.53.200.22", "peers", hostname: "peer-1", subdomain: "peers")));
        await using var dns = await DnsTestServer.StartAsync(catalog);

        Assert.Equal(["127.53.200.21", "127.53.200.22"], (await dns.DigAsync("peers.data.svc.cluster.local", "A")).AnswerData("A").Order());
        Assert.Equal(["127.53.200.21"], (await dns.DigAsync("peer-0.peers.data.svc.cluster.local", "A")).AnswerData("A"));
    }

    [Fact]
    public async Task ExternalName_IsACName_ForEveryType()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        foreach (var type in (string[])["CNAME", "A"])
        {
            var result = await dns.DigAsync("search.default.svc.cluster.local", type);
            var record = Assert.Single(result.Answer);
            Assert.Equal(("CNAME", "www.example.com."), (record.Type, record.Data));
        }
    }

    [Fact]
    public async Task DnsVersion_IsTheSchemaVersion()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        Assert.Equal(["\"1.1.0\""], (await dns.DigAsync("dns-version.cluster.local", "TXT")).AnswerData("TXT"));
    }

    [Fact]
    public async Task NxDomain_ForMissingNames_NoDataForNamesThatExist_BothWithTheSoa()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        foreach (var missing in (string[])["nothere.default.svc.cluster.local", "web.nosuchns.svc.cluster.local", "nosuchns.svc.cluster.local", "x.web.default.svc.cluster.local", "pod.cluster.local"])
        {
            var result = await dns.DigAsync(missing, "A");
            Assert.True(result.Status == "NXDOMAIN", $"{missing}: {result.Output}");
            Assert.Equal("SOA", Assert.Single(result.Authority).Type);
        }

        foreach (var existing in (string[])["default.svc.cluster.local", "svc.cluster.local", "cluster.local", "dns-version.cluster.local"])
        {
            var result = await dns.DigAsync(existing, "A");
            Assert.True(result is { Status: "NOERROR", Answer.Count: 0 }, $"{existing}: {result.Output}");
            Assert.Equal("SOA", Assert.Single(result.Authority).Type);
        }

        Assert.Equal("SOA", Assert.Single((await dns.DigAsync("cluster.local", "SOA")).Answer).Type);
    }

    [Fact]
    public async Task OutsideTheZone_IsRefused_WhenNoUpstreamIsSet()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog());

        var result = await dns.DigAsync("example.com", "A");
        Assert.Equal("REFUSED", result.Status);
        Assert.Empty(result.Answer);
    }

    [Fact]
    public async Task OutsideTheZone_IsForwardedToTheUpstream_AndItsAnswerRelayed_OverUdpAndTcp()
    {
        // The upstream is a second server, authoritative for another domain.
        var upstreamCatalog = new ServiceCatalog();
        upstreamCatalog.SetService(new Service { Name = "far", ClusterIP = IPAddress.Parse("127.100.53.77"), Ports = [new ServicePort { Port = 80 }] });
        await using var upstream = await DnsTestServer.StartAsync(upstreamCatalog, o => o.ClusterDomain = "upstream.test");
        await using var dns = await DnsTestServer.StartAsync(Catalog(), o => o.Upstream = upstream.EndPoint);

        Assert.Equal(["127.100.53.77"], (await dns.DigAsync("far.default.svc.upstream.test", "A")).AnswerData("A"));
        Assert.Equal(["127.100.53.77"], (await dns.DigAsync("+tcp", "far.default.svc.upstream.test", "A")).AnswerData("A"));
        Assert.Equal("NXDOMAIN", (await dns.DigAsync("nope.default.svc.upstream.test", "A")).Status);
        // The cluster zone is still answered locally.
        Assert.Equal(["127.100.53.10"], (await dns.DigAsync("web.default.svc.cluster.local", "A")).AnswerData("A"));
    }

    [Fact]
    public async Task OutsideTheZone_WithASilentUpstream_IsServFail()
    {
        // A bound UDP socket that never answers.
        using var silent = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        silent.Bind(new IPEndPoint(DnsTestServer.NextAddress(), 0));
        await using var dns = await DnsTestServer.StartAsync(Catalog(), o =>
        {
            o.Upstream = (IPEndPoint)silent.LocalEndPoint!;
            o.UpstreamTimeout = TimeSpan.FromMilliseconds(300);
        });

        Assert.Equal("SERVFAIL", (await dns.DigAsync("example.com", "A")).Status);
    }

    [Fact]
    public async Task ALargeAnswer_IsTruncatedOverUdp_AndWholeOverTcp()
    {
        var catalog = Catalog();
        var update = new CatalogUpdate().SetService(new Service { Name = "many", Headless = true, Selector = Selector("many"), Ports = [new ServicePort { Name = "http", Port = 80 }] });
        for (var i = 1; i <= 100; i++)
        {
            update.SetPod(Pod($"many-{i}", "default", $"127.53.201.{i}", "many"));
        }

        catalog.Apply(update);
        await using var dns = await DnsTestServer.StartAsync(catalog);

        // dig offers 1232 bytes by EDNS; 100 A records need about 1,650. +ignore shows the truncated answer.
        var udp = await dns.DigAsync("+ignore", "many.default.svc.cluster.local", "A");
        Assert.Contains("tc", udp.Flags);
        Assert.InRange(udp.Answer.Count, 1, 99);

        // Without EDNS the limit is 512 bytes.
        var classic = await dns.DigAsync("+ignore", "+noedns", "many.default.svc.cluster.local", "A");
        Assert.Contains("tc", classic.Flags);
        Assert.InRange(classic.Answer.Count, 1, udp.Answer.Count - 1);

        var tcp = await dns.DigAsync("+tcp", "many.default.svc.cluster.local", "A");
        Assert.DoesNotContain("tc", tcp.Flags);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => $"127.53.201.{i}").Order(), tcp.AnswerData("A").Order());

        // And dig on its own, as a resolver would, retries over TCP on TC and gets everything.
        Assert.Equal(100, (await dns.DigAsync("many.default.svc.cluster.local", "A")).Answer.Count);
    }

    [Fact]
    public async Task Answers_FollowTheLiveCatalog()
    {
        var catalog = Catalog();
        await using var dns = await DnsTestServer.StartAsync(catalog);
        Assert.Equal(3, (await dns.DigAsync("db.data.svc.cluster.local", "A")).Answer.Count);

        catalog.SetPod(Pod("db-4", "data", "127.53.200.15", "db", hostname: "db-4", subdomain: "db"));
        Assert.Contains("127.53.200.15", (await dns.DigAsync("db.data.svc.cluster.local", "A")).AnswerData("A"));
        Assert.Equal(["127.53.200.15"], (await dns.DigAsync("db-4.db.data.svc.cluster.local", "A")).AnswerData("A"));

        catalog.SetService(new Service { Name = "late", ClusterIP = IPAddress.Parse("127.100.53.30"), Ports = [new ServicePort { Port = 80 }] });
        Assert.Equal(["127.100.53.30"], (await dns.DigAsync("late.default.svc.cluster.local", "A")).AnswerData("A"));
        Assert.Equal(["late.default.svc.cluster.local."], (await dns.DigAsync("-x", "127.100.53.30")).AnswerData("PTR"));

        catalog.RemoveService(new NamespacedName("default", "late"));
        Assert.Equal("NXDOMAIN", (await dns.DigAsync("late.default.svc.cluster.local", "A")).Status);
    }

    [Fact]
    public async Task AnotherClusterDomain_IsServed_AndCluster_LocalIsNoLongerOurs()
    {
        await using var dns = await DnsTestServer.StartAsync(Catalog(), o => o.ClusterDomain = "corp.example");

        Assert.Equal(["127.100.53.10"], (await dns.DigAsync("web.default.svc.corp.example", "A")).AnswerData("A"));
        Assert.Equal("REFUSED", (await dns.DigAsync("web.default.svc.cluster.local", "A")).Status);
    }

    internal static ServiceCatalog Catalog()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(new Service
            {
                Name = "web",
                ClusterIP = IPAddress.Parse("127.100.53.10"),
                Selector = Selector("web"),
                Ports = [new ServicePort { Name = "http", Port = 80 }, new ServicePort { Name = "dns", Port = 53, Protocol = ServiceProtocol.Udp }],
            })
            .SetService(new Service { Name = "web6", ClusterIP = IPAddress.Parse("fd00::53:10"), Selector = Selector("web"), Ports = [new ServicePort { Name = "http", Port = 80 }] })
            .SetService(new Service { Name = "search", Type = ServiceType.ExternalName, ExternalName = "www.example.com" })
            .SetService(new Service { Name = "db", Namespace = "data", Headless = true, Selector = Selector("db"), Ports = [new ServicePort { Name = "pg", Port = 5432 }] })
            .SetPod(Pod("web-1", "default", "127.53.200.1", "web"))
            .SetPod(Pod("web-2", "default", "127.53.200.2", "web"))
            .SetPod(Pod("db-0", "data", "127.53.200.11", "db", hostname: "db-0", subdomain: "db"))
            .SetPod(Pod("db-1", "data", "127.53.200.12", "db", hostname: "db-1", subdomain: "db"))
            .SetPod(Pod("db-2", "data", "127.53.200.13", "db"))
            .SetPod(Pod("db-3", "data", "127.53.200.14", "db", ready: false, hostname: "db-3", subdomain: "db")));
        return catalog;
    }

    private static LabelSelector Selector(string app) => new(new Dictionary<string, string> { ["app"] = app });

    private static Pod Pod(string name, string ns, string address, string app, bool ready = true, string? hostname = null, string? subdomain = null) => new()
    {
        Name = name,
        Namespace = ns,
        Address = IPAddress.Parse(address),
        Labels = new Dictionary<string, string> { ["app"] = app },
        Ready = ready,
        Hostname = hostname,
        Subdomain = subdomain,
    };
}
