using System.Collections.Immutable;
using System.Net;
using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Catalog.Tests;

public sealed class ServiceCatalogTests
{
    private static Service Web(string? clusterIP = null, string app = "web", int port = 80, int targetPort = 8080) => new()
    {
        Name = "web",
        ClusterIP = clusterIP is null ? null : IPAddress.Parse(clusterIP),
        Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = app }),
        Ports = [new ServicePort { Port = port, TargetPort = targetPort }],
    };

    private static Pod Pod(string name, string address, string app = "web", bool ready = true, string ns = "default") => new()
    {
        Namespace = ns,
        Name = name,
        Address = IPAddress.Parse(address),
        Labels = new Dictionary<string, string> { ["app"] = app, ["pod"] = name },
        Ready = ready,
    };

    private static IPEndPoint[] EndpointsOf(CatalogSnapshot snapshot, string service = "web")
        => snapshot.Services[new("default", service)].Ports[0].Endpoints.Select(e => e.EndPoint).ToArray();

    [Fact]
    public void Current_Empty_IsVersionZero()
    {
        var catalog = new ServiceCatalog();
        Assert.Equal(0, catalog.Current.Version);
        Assert.Empty(catalog.Current.Services);
    }

    [Fact]
    public void Apply_EachUpdate_PublishesNextVersion()
    {
        var catalog = new ServiceCatalog();
        Assert.Equal(1, catalog.SetService(Web()).Version);
        Assert.Equal(2, catalog.SetPod(Pod("web-1", "127.0.1.1")).Version);
        Assert.Equal(3, catalog.Apply(new CatalogUpdate().SetPod(Pod("web-2", "127.0.1.2")).SetPod(Pod("web-3", "127.0.1.3"))).Version);
        Assert.Equal(3, catalog.Current.Version);
    }

    [Fact]
    public void Apply_ChangeThatAffectsNoService_KeepsVersion()
    {
        var catalog = new ServiceCatalog();
        catalog.SetService(Web());
        var before = catalog.Current;
        var after = catalog.SetPod(Pod("db-1", "127.0.2.1", app: "db"));
        Assert.Same(before, after);
    }

    [Fact]
    public void SetService_WithoutClusterIP_AllocatesStableAddressInCidr()
    {
        var first = new ServiceCatalog().SetService(Web()).Services[new("default", "web")].ClusterIP;
        var again = new ServiceCatalog().SetService(Web()).Services[new("default", "web")].ClusterIP;
        Assert.Equal(first, again);
        Assert.True(IPNetwork.Parse("127.96.0.0/12").Contains(first!));
    }

    [Fact]
    public void SetService_Updated_KeepsAllocatedAddress()
    {
        var catalog = new ServiceCatalog();
        var address = catalog.SetService(Web()).Services[new("default", "web")].ClusterIP;
        var updated = catalog.SetService(Web(port: 81)).Services[new("default", "web")];
        Assert.Equal(address, updated.ClusterIP);
        Assert.Equal(81, updated.Ports[0].VirtualEndPoint!.Port);
    }

    [Fact]
    public void Selector_ChoosesReadyMatchingPodsOfItsNamespaceOnly()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(Web())
            .SetPod(Pod("web-2", "127.0.1.2"))
            .SetPod(Pod("web-1", "127.0.1.1"))
            .SetPod(Pod("web-3", "127.0.1.3", ready: false))
            .SetPod(Pod("api-1", "127.0.1.4", app: "api"))
            .SetPod(Pod("web-other-ns", "127.0.1.5", ns: "other")));

        Assert.Equal(
            [new IPEndPoint(IPAddress.Parse("127.0.1.1"), 8080), new IPEndPoint(IPAddress.Parse("127.0.1.2"), 8080)],
            EndpointsOf(catalog.Current));
    }

    [Fact]
    public void SetPod_Relabelled_MovesBetweenServicesAndReportsBoth()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(Web())
            .SetService(Web(app: "api") with { Name = "api" })
            .SetPod(Pod("p-1", "127.0.1.1")));

        var snapshot = catalog.SetPod(Pod("p-1", "127.0.1.1", app: "api"));

        Assert.Equal([new("default", "api"), new("default", "web")], snapshot.ChangedServices.OrderBy(s => s.Name).ToArray());
        Assert.Empty(EndpointsOf(snapshot, "web"));
        Assert.Single(EndpointsOf(snapshot, "api"));
        Assert.Null(snapshot.Services[new("default", "web")].Ports[0].Picker);
    }

    [Fact]
    public void SetPod_UnrelatedService_IsReusedNotRebuilt()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(Web())
            .SetService(Web(app: "api") with { Name = "api" })
            .SetPod(Pod("web-1", "127.0.1.1")));
        var webBefore = catalog.Current.Services[new("default", "web")];

        var snapshot = catalog.SetPod(Pod("api-1", "127.0.2.1", app: "api"));

        Assert.Equal([new NamespacedName("default", "api")], snapshot.ChangedServices.ToArray());
        Assert.Same(webBefore, snapshot.Services[new("default", "web")]);
    }

    [Fact]
    public void EndpointState_SurvivesRebuildWhileEndpointStays()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate().SetService(Web()).SetPod(Pod("web-1", "127.0.1.1")));
        var state = catalog.Current.Services[new("default", "web")].Ports[0].Endpoints[0];
        state.OnConnecting();

        var snapshot = catalog.SetPod(Pod("web-2", "127.0.1.2"));

        var kept = snapshot.Services[new("default", "web")].Ports[0].Endpoints.Single(e => e.Pod == new NamespacedName("default", "web-1"));
        Assert.Same(state, kept);
        Assert.Equal(1, kept.ActiveConnections);
    }

    [Fact]
    public void RemovePod_EndpointLeavesSnapshot_OldSnapshotUnchanged()
    {
        var catalog = new ServiceCatalog();
        var before = catalog.Apply(new CatalogUpdate().SetService(Web()).SetPod(Pod("web-1", "127.0.1.1")).SetPod(Pod("web-2", "127.0.1.2")));

        var after = catalog.RemovePod(new("default", "web-1"));

        Assert.Equal(2, EndpointsOf(before).Length);
        Assert.Equal([new IPEndPoint(IPAddress.Parse("127.0.1.2"), 8080)], EndpointsOf(after));
    }

    [Fact]
    public void RemoveService_DisappearsAndFreesItsAddress()
    {
        var catalog = new ServiceCatalog();
        catalog.SetService(Web("127.96.0.10"));
        var removed = catalog.RemoveService(new("default", "web"));
        Assert.Empty(removed.Services);
        Assert.Equal([new NamespacedName("default", "web")], removed.ChangedServices.ToArray());
        // The address is free again for another service.
        catalog.SetService(Web("127.96.0.10") with { Name = "other" });
    }

    [Fact]
    public void Apply_InvalidBatch_RejectedWholeAndLastGoodStateKept()
    {
        var catalog = new ServiceCatalog();
        var good = catalog.Apply(new CatalogUpdate().SetService(Web()).SetPod(Pod("web-1", "127.0.1.1")));

        var error = Assert.Throws<CatalogValidationException>(() => catalog.Apply(new CatalogUpdate()
            .SetPod(Pod("web-2", "127.0.1.2"))
            .SetService(Web(port: 70000) with { Name = "bad" })));

        Assert.Same(good, catalog.Current);
        var single = Assert.Single(error.Errors);
        Assert.Equal("service default/bad: spec.ports[0].port: must be 1-65535, got 70000", single.ToString());
    }

    [Fact]
    public void Validation_ReportsEveryErrorWithItsFieldPath()
    {
        var service = new Service
        {
            Name = "Bad_Name",
            Ports =
            [
                new ServicePort { Port = 0 },
                new ServicePort { Name = "b", Port = 80, TargetPort = 70000 },
                new ServicePort { Name = "b", Port = 80 },
            ],
            Balancer = "nope",
        };

        var errors = Assert.Throws<CatalogValidationException>(() => new ServiceCatalog().SetService(service)).Errors.Select(e => e.ToString()).ToArray();

        Assert.Contains(errors, e => e.StartsWith("service default/Bad_Name: metadata.name: must consist of lower case alphanumeric", StringComparison.Ordinal));
        Assert.Contains("service default/Bad_Name: spec.ports[0].port: must be 1-65535, got 0", errors);
        Assert.Contains("service default/Bad_Name: spec.ports[0].name: required when more than one port", errors);
        Assert.Contains("service default/Bad_Name: spec.ports[1].targetPort: must be 1-65535, got 70000", errors);
        Assert.Contains("service default/Bad_Name: spec.ports[2].name: duplicate value \"b\"", errors);
        Assert.Contains("service default/Bad_Name: spec.ports[2].port: duplicate port 80/Tcp", errors);
        Assert.Contains(errors, e => e.StartsWith("service default/Bad_Name: metadata.annotations[fastproxy.io/balancer]: unknown balancing strategy \"nope\"; known: ", StringComparison.Ordinal) && e.Contains(BalancingStrategies.RoundRobin, StringComparison.Ordinal));
    }

    [Fact]
    public void Validation_DuplicateClusterIP_NamesTheOwner()
    {
        var catalog = new ServiceCatalog();
        catalog.SetService(Web("127.96.0.10"));
        var error = Assert.Throws<CatalogValidationException>(() => catalog.SetService(Web("127.96.0.10") with { Name = "other" }));
        Assert.Equal("service default/other: spec.clusterIP: 127.96.0.10 is already allocated to service default/web", Assert.Single(error.Errors).ToString());
    }

    [Fact]
    public void Validation_ClusterIPMovedInSameBatch_IsFree()
    {
        var catalog = new ServiceCatalog();
        catalog.SetService(Web("127.96.0.10"));
        var snapshot = catalog.Apply(new CatalogUpdate()
            .SetService(Web("127.96.0.11"))
            .SetService(Web("127.96.0.10") with { Name = "other" }));
        Assert.Equal(IPAddress.Parse("127.96.0.10"), snapshot.Services[new("default", "other")].ClusterIP);
    }

    [Fact]
    public void Changed_RaisedOncePerVersion_AndChangeTokenFires()
    {
        var catalog = new ServiceCatalog();
        var seen = new List<long>();
        catalog.Changed += (_, e) => seen.Add(e.Snapshot.Version);
        var token = catalog.GetChangeToken();
        Assert.False(token.HasChanged);

        catalog.SetService(Web());
        catalog.SetPod(Pod("web-1", "127.0.1.1"));

        Assert.True(token.HasChanged);
        Assert.Equal([1L, 2L], seen);
    }

    [Fact]
    public void CustomStrategy_RegisteredByName_IsUsed()
    {
        var catalog = new ServiceCatalog(new ServiceCatalogOptions { Strategies = { new FirstStrategy() } });
        var snapshot = catalog.Apply(new CatalogUpdate().SetService(Web() with { Balancer = "first" }).SetPod(Pod("web-1", "127.0.1.1")));
        Assert.IsType<FirstStrategy.Picker>(snapshot.Services[new("default", "web")].Ports[0].Picker);
    }

    [Fact]
    public async Task Current_ReadWhileWritersPublish_AlwaysConsistent()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate().SetService(Web()).SetPod(Pod("web-9", "127.0.1.9")));
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource();
        var reader = Task.Run(() =>
        {
            long last = 0, picks = 0;
            while (!stop.IsCancellationRequested)
            {
                started.TrySetResult();
                var snapshot = catalog.Current;
                Assert.True(snapshot.Version >= last);
                last = snapshot.Version;
                var port = snapshot.Services[new("default", "web")].Ports[0];
                if (port.Picker is { } picker)
                {
                    Assert.Contains(picker.Pick(default), port.Endpoints);
                    picks++;
                }
            }

            return picks;
        });

        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 2_000; i++)
        {
            catalog.SetPod(Pod($"web-{i % 5}", $"127.0.1.{(i % 5) + 1}", ready: i % 3 != 0));
        }

        stop.Cancel();
        Assert.True(await reader.WaitAsync(TimeSpan.FromSeconds(10)) > 0);
    }

    private sealed class FirstStrategy : IBalancingStrategy
    {
        public string Name => "First";

        public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints) => new Picker(endpoints[0]);

        internal sealed class Picker(EndpointState first) : IEndpointPicker
        {
            public EndpointState? Pick(in PickContext context) => first;
        }
    }
}
