using System.Collections.Immutable;
using System.Net;
using FastProxy.Balancing;
using FastProxy.Model;
using Microsoft.Extensions.Time.Testing;

namespace FastProxy.Catalog.Tests;

/// <summary>How the catalog builds balancing state: strategies, weights, affinity tables, endpoint retirement.</summary>
public sealed class CatalogBalancingTests
{
    private static readonly NamespacedName WebId = new("default", "web");

    private static Service Web() => new()
    {
        Name = "web",
        Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "web" }),
        Ports = [new ServicePort { Port = 80, TargetPort = 8080 }],
    };

    private static Pod Pod(string name, string address, int weight = 1) => new()
    {
        Name = name,
        Address = IPAddress.Parse(address),
        Labels = new Dictionary<string, string> { ["app"] = "web" },
        Weight = weight,
    };

    private static ServicePortSnapshot Port(ServiceCatalog catalog) => catalog.Current.Services[WebId].Ports[0];

    private static string[] Errors(Action apply)
        => Assert.Throws<CatalogValidationException>(apply).Errors.Select(e => e.ToString()).ToArray();

    [Fact]
    public void Validation_NamesTheFieldAndTheReason()
    {
        var catalog = new ServiceCatalog();
        Assert.Equal(
            ["pod default/web-1: metadata.annotations[fastproxy.io/weight]: must be 1-10000, got 0"],
            Errors(() => catalog.SetPod(Pod("web-1", "127.0.1.1", weight: 0))));
        Assert.Equal(
            ["service default/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be greater than 0 and at most 86400, got 86401"],
            Errors(() => catalog.SetService(Web() with { SessionAffinity = SessionAffinity.ClientIP, SessionAffinityTimeout = TimeSpan.FromSeconds(86401) })));
        var unknown = Assert.Single(Errors(() => catalog.SetService(Web() with { Balancer = "fastest" })));
        Assert.StartsWith("service default/web: metadata.annotations[fastproxy.io/balancer]: unknown balancing strategy \"fastest\"; known: ", unknown, StringComparison.Ordinal);
        foreach (var name in new[] { BalancingStrategies.RoundRobin, BalancingStrategies.Maglev, BalancingStrategies.BoundedLoad })
        {
            Assert.Contains(name, unknown, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PodWeight_ReachesTheEndpoint()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate().SetService(Web()).SetPod(Pod("web-1", "127.0.1.1", weight: 5)).SetPod(Pod("web-2", "127.0.1.2")));
        Assert.Equal([5, 1], Port(catalog).Endpoints.Select(e => e.Weight));
    }

    [Fact]
    public void WeightChange_KeepsTheEndpoint_AndItsCounters_RebuildsThePicker()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate().SetService(Web() with { Balancer = BalancingStrategies.WeightedRoundRobin }).SetPod(Pod("web-1", "127.0.1.1")).SetPod(Pod("web-2", "127.0.1.2")));
        var before = Port(catalog);
        var web1 = before.Endpoints[0];
        web1.OnConnecting();

        catalog.SetPod(Pod("web-1", "127.0.1.1", weight: 3));

        var after = Port(catalog);
        Assert.Same(web1, after.Endpoints[0]);
        Assert.False(web1.IsRemoved);
        Assert.Equal(3, web1.Weight);
        Assert.Equal(1, web1.ActiveConnections);
        Assert.NotSame(before.Picker, after.Picker);

        // The new schedule follows the new weights: 3 of every 4 picks.
        var picks = Enumerable.Range(0, 400).Select(_ => after.Picker!.Pick(default)).Count(e => ReferenceEquals(e, web1));
        Assert.Equal(300, picks);
    }

    [Fact]
    public void BalancerChange_SameEndpoints_RebuildsThePicker_KeepsEndpointState()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate().SetService(Web()).SetPod(Pod("web-1", "127.0.1.1")).SetPod(Pod("web-2", "127.0.1.2")));
        var before = Port(catalog);

        catalog.SetService(Web() with { Balancer = BalancingStrategies.Maglev });

        var after = Port(catalog);
        Assert.NotSame(before.Picker, after.Picker);
        Assert.Equal(before.Endpoints.AsEnumerable(), after.Endpoints.AsEnumerable());
    }

    [Fact]
    public void LeastConnectionsTree_RegisteredWithItsEndpoints_UnregisteredWhenTheStrategyChanges()
    {
        var catalog = new ServiceCatalog();
        var update = new CatalogUpdate().SetService(Web() with { Balancer = BalancingStrategies.LeastConnections });
        for (var i = 1; i <= LeastConnectionsStrategy.ScanLimit + 1; i++)
        {
            update.SetPod(Pod($"web-{i}", $"127.0.{1 + (i / 250)}.{i % 250}"));
        }

        catalog.Apply(update);
        Assert.All(Port(catalog).Endpoints, e => Assert.True(e.IsLoadTracked));

        catalog.SetService(Web() with { Balancer = BalancingStrategies.RoundRobin });
        Assert.All(Port(catalog).Endpoints, e => Assert.False(e.IsLoadTracked));
    }

    [Fact]
    public void RemovedEndpoint_IsFlagged_UnreadyOneStaysWithItsConditions()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate().SetService(Web()).SetPod(Pod("web-1", "127.0.1.1")).SetPod(Pod("web-2", "127.0.1.2")));
        var (web1, web2) = (Port(catalog).Endpoints[0], Port(catalog).Endpoints[1]);

        // Unready: still an endpoint of the service (Kubernetes lists it with ready=false), but no route sends to it.
        catalog.SetPod(Pod("web-1", "127.0.1.1") with { Ready = false });
        Assert.False(web1.IsRemoved);
        Assert.Equal(new EndpointConditions(false, false, false), web1.Conditions);
        Assert.Equal([web2], Port(catalog).Endpoints.AsEnumerable());
        Assert.Equal([web1, web2], Port(catalog).AllEndpoints.AsEnumerable());

        // Ready again: the same instance, counters and all.
        catalog.SetPod(Pod("web-1", "127.0.1.1"));
        Assert.Same(web1, Port(catalog).Endpoints[0]);
        Assert.True(web1.Conditions.Ready);

        catalog.RemovePod(new NamespacedName("default", "web-1"));
        Assert.True(web1.IsRemoved);
        Assert.False(web2.IsRemoved);

        catalog.RemoveService(WebId);
        Assert.True(web2.IsRemoved);
    }

    [Fact]
    public void AffinityTable_OnlyWithClientIP_SurvivesEndpointChanges_ReplacedWhenTimeoutChanges()
    {
        var catalog = new ServiceCatalog(new ServiceCatalogOptions { TimeProvider = new FakeTimeProvider() });
        catalog.Apply(new CatalogUpdate().SetService(Web()).SetPod(Pod("web-1", "127.0.1.1")));
        Assert.Null(Port(catalog).Affinity);

        catalog.SetService(Web() with { SessionAffinity = SessionAffinity.ClientIP });
        var table = Port(catalog).Affinity;
        Assert.NotNull(table);
        Assert.Equal(Service.DefaultSessionAffinityTimeout, table.Timeout);

        catalog.SetPod(Pod("web-2", "127.0.1.2"));
        Assert.Same(table, Port(catalog).Affinity);

        catalog.SetService(Web() with { SessionAffinity = SessionAffinity.ClientIP, SessionAffinityTimeout = TimeSpan.FromSeconds(30) });
        Assert.NotSame(table, Port(catalog).Affinity);
        Assert.Equal(TimeSpan.FromSeconds(30), Port(catalog).Affinity!.Timeout);

        catalog.SetService(Web());
        Assert.Null(Port(catalog).Affinity);
    }

    [Fact]
    public void UserStrategy_ReplacesTheBuiltInOfTheSameName()
    {
        var custom = new NamedStrategy(BalancingStrategies.RoundRobin);
        var catalog = new ServiceCatalog(new ServiceCatalogOptions { Strategies = { custom } });
        catalog.Apply(new CatalogUpdate().SetService(Web()).SetPod(Pod("web-1", "127.0.1.1")));
        Assert.Equal(1, custom.Built);
    }

    [Fact]
    public void UserStrategies_WithTheSameName_AreRejected()
    {
        var options = new ServiceCatalogOptions { Strategies = { new NamedStrategy("mine"), new NamedStrategy("MINE") } };
        var error = Assert.Throws<ArgumentException>(() => new ServiceCatalog(options));
        Assert.Contains("'MINE'", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> AllStrategies() => Forwarding.Tests.BalancingForwardingTests.AllStrategies();

    [Theory]
    [MemberData(nameof(AllStrategies))]
    public async Task ConcurrentPicks_WhileSnapshotsSwap_AlwaysAnEndpointOfTheSnapshotRead(string strategy)
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate().SetService(Web() with { Balancer = strategy }).SetPod(Pod("web-9", "127.0.1.9")));
        using var stop = new CancellationTokenSource();
        using var started = new CountdownEvent(2);
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            long picks = 0;
            var flow = 0;
            var contexts = Enumerable.Range(0, 64).Select(i => Balancing.Tests.TestEndpoints.Flow(i + (r * 64))).ToArray();
            while (!stop.IsCancellationRequested)
            {
                var port = catalog.Current.Services[WebId].Ports[0];
                if (port.Picker is { } picker)
                {
                    var picked = picker.Pick(contexts[flow++ & 63]);

                    // Null only when a newer version has already retired every endpoint of this one.
                    Assert.True(picked is null ? port.Endpoints.All(e => e.IsRemoved) : port.Endpoints.Contains(picked));
                    if (picks++ == 0)
                    {
                        started.Signal();
                    }
                }
            }

            return picks;
        })).ToArray();

        Assert.True(started.Wait(TimeSpan.FromSeconds(10)), "Both readers are picking before the writes start.");
        for (var i = 0; i < 1_000; i++)
        {
            catalog.SetPod(Pod($"web-{i % 5}", $"127.0.1.{(i % 5) + 1}", weight: 1 + (i % 7)) with { Ready = i % 3 != 0 });
        }

        await stop.CancelAsync();
        var counts = await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(counts, c => Assert.True(c > 1, $"{c} picks"));
    }

    private sealed class NamedStrategy(string name) : IBalancingStrategy
    {
        public int Built { get; private set; }

        public string Name => name;

        public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
        {
            Built++;
            return new RoundRobinStrategy().CreatePicker(endpoints);
        }
    }
}
