using System.Net;
using static FastProxy.Tests.Kubernetes.KubernetesTestEnvironment;

namespace FastProxy.Tests.Kubernetes;

/// <summary>Watch, resume, 410 relist, API server outages and invalid objects, against recorded watch streams.</summary>
public sealed class KubernetesWatchTests
{
    private const string Gone = """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1000 (1400)","reason":"Expired","code":410}""";

    private const string SliceBookmark = """{"type":"BOOKMARK","object":{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"1100","creationTimestamp":null},"addressType":"","endpoints":null}}""";

    [Fact]
    public async Task Watch_AppliesEvents_ThenResumesFromTheLastResourceVersion()
    {
        await using var env = Create();
        env.Server.EnqueueWatch(ServicesPath, FixtureLines("services-watch.ndjson"), close: true);
        await env.StartAsync();

        await EventuallyAsync(() => env.HasService("search") && !env.HasService("metrics"), "the watch events are applied");
        Assert.Equal("maglev", env.Service("web").Service.Balancer);

        // The stream ended after a bookmark at 1050: the next watch starts there, with no new list.
        await EventuallyAsync(() => env.Server.RequestsTo(ServicesPath).Count(r => r.IsWatch) >= 2, "the watch is resumed");
        var watches = env.Server.RequestsTo(ServicesPath).Where(r => r.IsWatch).ToArray();
        Assert.Equal("1000", watches[0].Parameter("resourceVersion"));
        Assert.Equal("true", watches[0].Parameter("allowWatchBookmarks"));
        Assert.Equal("1050", watches[1].Parameter("resourceVersion"));
        Assert.Single(env.Server.RequestsTo(ServicesPath), r => !r.IsWatch);
        Assert.Equal("1050", env.Source.Status.ResourceVersions["services"]);
        Assert.Equal(0, env.Source.Status.Relists);
    }

    [Fact]
    public async Task GoneAsErrorEvent_Relists_AndRemovesWhatWasDeletedMeanwhile()
    {
        await using var env = Create();
        await env.StartAsync();
        Assert.True(env.HasService("metrics"));

        // The connection breaks; meanwhile metrics is deleted and the API server compacts past 1000,
        // so the resumed watch gets a 410 ERROR event.
        env.Server.SetList(ServicesPath, FilterList(Fixture("services.json"), i => NameOf(i) != "metrics", "1400"));
        env.Server.EnqueueWatch(ServicesPath, FixtureLines("watch-gone.ndjson"), close: true);
        env.Server.DropWatches();

        await EventuallyAsync(() => !env.HasService("metrics"), "the relist removes metrics");
        Assert.True(env.HasService("web"));
        Assert.Equal(1, env.Source.Status.Relists);
        await EventuallyAsync(() => env.Server.RequestsTo(ServicesPath).Any(r => r.IsWatch && r.Parameter("resourceVersion") == "1400"), "the new watch starts from the new list");
        var services = env.Server.RequestsTo(ServicesPath).ToArray();
        Assert.Equal(2, services.Count(r => !r.IsWatch));
        Assert.Equal(["1000", "1000", "1400"], services.Where(r => r.IsWatch).Select(r => r.Parameter("resourceVersion")).Take(3));
    }

    [Fact]
    public async Task GoneAsHttpStatus_Relists()
    {
        await using var env = Create();
        await env.StartAsync();
        Assert.True(env.HasService("metrics"));

        env.Server.SetList(ServicesPath, FilterList(Fixture("services.json"), i => NameOf(i) != "metrics", "1400"));
        env.Server.EnqueueWatchStatus(ServicesPath, 410, Gone);
        env.Server.DropWatches();

        await EventuallyAsync(() => !env.HasService("metrics"), "the relist removes metrics");
        Assert.Equal(1, env.Source.Status.Relists);
        Assert.Contains(env.Logs.Messages, m => m.Contains("resourceVersion 1000 is gone (410)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ApiServerDown_KeepsLastGoodCatalog_ThenResumesWithoutRelist()
    {
        await using var env = Create();
        await env.StartAsync();
        var version = env.Catalog.Current.Version;

        await env.Server.StopAsync();
        await EventuallyAsync(() => !env.Source.Status.Connected, "the source notices the outage");
        await Task.Delay(300); // a few failed retries
        Assert.Equal(version, env.Catalog.Current.Version);
        Assert.True(env.HasService("web"));
        Assert.Equal(3, env.Service("web").Ports[0].AllEndpoints.Length);
        Assert.NotNull(env.Source.Status.LastError);

        env.Server.EnqueueWatch(ServicesPath, FixtureLines("services-watch.ndjson").Take(2));
        env.Server.EnqueueWatch(SlicesPath, [SliceBookmark]);
        var requestsBefore = env.Server.Requests.Count;
        env.Server.Restart();

        await EventuallyAsync(() => env.HasService("search") && env.Source.Status.Connected, "the source reconnects and applies new events");
        var resumed = env.Server.Requests.Skip(requestsBefore).Where(r => r.Path == ServicesPath).ToArray();
        Assert.All(resumed, r => Assert.True(r.IsWatch));
        Assert.Equal("1000", resumed[0].Parameter("resourceVersion"));
        Assert.Equal(0, env.Source.Status.Relists);
        Assert.Equal("1100", env.Source.Status.ResourceVersions["endpointslices"]);
    }

    [Fact]
    public async Task InvalidObject_IsLoggedWithFieldPathAndSkipped_LastGoodVersionStays()
    {
        await using var env = Create();
        var events = FixtureLines("services-watch.ndjson");

        // web turns SCTP (FastProxy cannot proxy it); "clash" takes web's cluster IP; search is fine.
        var sctp = events[0].Replace("\"protocol\":\"TCP\"", "\"protocol\":\"SCTP\"", StringComparison.Ordinal);
        var clash = events[1].Replace("\"search\"", "\"clash\"", StringComparison.Ordinal).Replace("127.96.10.13", "127.96.10.10", StringComparison.Ordinal);
        env.Server.EnqueueWatch(ServicesPath, [sctp, clash, events[1]]);
        await env.StartAsync();

        await EventuallyAsync(() => env.HasService("search"), "the valid object after the invalid ones is applied");
        Assert.False(env.HasService("clash"));
        var web = env.Service("web");
        Assert.Equal("least-connections", web.Service.Balancer);
        Assert.Equal(FastProxy.Model.ServiceProtocol.Tcp, web.Ports[0].Port.Protocol);
        Assert.Contains(env.Logs.Messages, m => m.StartsWith("Kubernetes Service shop/web: spec.ports[0].protocol:", StringComparison.Ordinal) && m.Contains("SCTP", StringComparison.Ordinal));
        Assert.Contains(env.Logs.Messages, m => m.StartsWith("Kubernetes Service shop/clash: the catalog refused it:", StringComparison.Ordinal) && m.Contains("127.96.10.10", StringComparison.Ordinal));
    }
}
