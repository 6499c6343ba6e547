using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using FastProxy.Catalog;
using FastProxy.Kubernetes;
using FastProxy.Model;
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
        await env.Server.WhenWatchHeldAsync(ServicesPath);

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
        await env.Server.WhenWatchHeldAsync(ServicesPath);

        env.Server.SetList(ServicesPath, FilterList(Fixture("services.json"), i => NameOf(i) != "metrics", "1400"));
        env.Server.EnqueueWatchStatus(ServicesPath, 410, Gone);
        env.Server.DropWatches();

        await EventuallyAsync(() => !env.HasService("metrics"), "the relist removes metrics");
        Assert.Equal(1, env.Source.Status.Relists);
        Assert.Contains(env.Logs.Messages, m => m.Contains("resourceVersion 1000 is gone (410)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GoneAsHttpStatusOnEveryWatch_RelistsBackOff()
    {
        await using var env = Create();
        await env.StartAsync();
        await env.Server.WhenWatchHeldAsync(ServicesPath);

        // From now on every services watch is answered 410: each relist's fresh version is "gone" again.
        for (var i = 0; i < 200; i++)
        {
            env.Server.EnqueueWatchStatus(ServicesPath, 410, Gone);
        }

        var listsBefore = env.Server.RequestsTo(ServicesPath).Count(r => !r.IsWatch);
        env.Server.DropWatches();
        await Task.Delay(TimeSpan.FromSeconds(3));
        var lists = env.Server.RequestsTo(ServicesPath).Count(r => !r.IsWatch) - listsBefore;

        // Backoff 50 ms doubling to 200 ms (the test's options) allows about 17 lists in 3 s; with no
        // backoff a list and a 410 take a few milliseconds on loopback, hundreds in 3 s. It keeps trying.
        Assert.InRange(lists, 2, 30);
        Assert.True(env.HasService("web"));
    }

    [Fact]
    public async Task BrokenWatch_ResumesAfterTheLastAppliedEvent_ADeletedPodDoesNotComeBack()
    {
        await using var env = Create(o => o.Mode = KubernetesEndpointsMode.Pods);
        var pod = new NamespacedName("shop", "web-5d9c7f8b6-zz9zz");
        string[] history = [PodEvent("ADDED", pod.Name, "1101"), PodEvent("DELETED", pod.Name, "1102"), PodBookmark("1103")];
        env.Server.EnqueueWatch(PodsPath, history[..2]);

        // The resumed watch gets what a real API server sends: the events after the version asked for.
        env.Server.EnqueueWatchHistory(PodsPath, history);
        var seen = new ConcurrentQueue<bool>();
        env.Catalog.Changed += (_, e) => seen.Enqueue(HasPod(e.Snapshot, pod));
        await env.StartAsync();
        await EventuallyAsync(() => env.Source.Status.ResourceVersions["pods"] == "1102", "ADDED and DELETED are applied");

        await env.Server.WhenWatchHeldAsync(PodsPath);
        env.Server.ResetWatches();
        await EventuallyAsync(() => env.Source.Status.ResourceVersions["pods"] == "1103", "the watch resumes and gets the bookmark");

        var watches = env.Server.RequestsTo(PodsPath).Where(r => r.IsWatch).ToArray();
        Assert.Equal(["1000", "1102"], watches.Take(2).Select(r => r.Parameter("resourceVersion")));
        Assert.NotNull(env.Source.Status.LastError); // the drop broke the watch: not a clean end
        Assert.Equal(0, env.Source.Status.Relists);

        // In every catalog version: the pod came once (ADDED) and went (DELETED), and never came back.
        var states = seen.ToArray();
        Assert.Equal(1, states.Zip(states.Skip(1)).Count(p => !p.First && p.Second) + (states.FirstOrDefault() ? 1 : 0));
        Assert.False(states[^1]);
        Assert.False(HasPod(env.Catalog.Current, pod));
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

    private static bool HasPod(CatalogSnapshot snapshot, NamespacedName pod)
        => snapshot.TryGetService(new NamespacedName("shop", "web"), out var web) && web.Ports.Any(p => p.AllEndpoints.Any(e => e.Pod == pod));

    /// <summary>A watch event for a ready web pod (the recorded first one) under another name and address.</summary>
    private static string PodEvent(string type, string name, string resourceVersion)
    {
        var item = JsonNode.Parse(FilterList(Fixture("pods.json"), static i => NameOf(i) == "web-5d9c7f8b6-2xk4p", "1000")
            .Replace("web-5d9c7f8b6-2xk4p", name, StringComparison.Ordinal)
            .Replace("127.120.1.1\"", "127.120.1.9\"", StringComparison.Ordinal))!["items"]![0]!;
        item["kind"] = "Pod";
        item["apiVersion"] = "v1";
        item["metadata"]!["resourceVersion"] = resourceVersion;
        return new JsonObject { ["type"] = type, ["object"] = item.DeepClone() }.ToJsonString();
    }

    private static string PodBookmark(string resourceVersion)
        => $$$$"""{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"{{{{resourceVersion}}}}","creationTimestamp":null}}}""";
}
