using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using FastProxy.Affinity;
using FastProxy.Balancing;
using FastProxy.Model;
using FastProxy.Tests;
using Microsoft.Extensions.Logging;

namespace FastProxy.Catalog.Tests;

/// <summary>Regression tests for the fourth review's findings: each asserts the fixed behaviour.</summary>
public sealed class CatalogRegressionTests
{
    private static readonly NamespacedName WebId = new("default", "web");

    private static LabelSelector Web => new(new Dictionary<string, string> { ["app"] = "web" });

    private static Service WebService(int port = 80) => new() { Name = "web", Selector = Web, Ports = [new ServicePort { Port = port }] };

    private static Pod PodOn(string name, string address, string? node = null) => new()
    {
        Name = name,
        Address = IPAddress.Parse(address),
        Labels = new Dictionary<string, string> { ["app"] = "web" },
        NodeName = node,
    };

    private static ServiceCatalog OnNode1() => new(new ServiceCatalogOptions { NodeName = "n1" });

    private static ServicePortSnapshot Port(ServiceCatalog catalog) => catalog.Current.Services[WebId].Ports[0];

    private static ServiceCatalog Wildcard()
    {
        var options = new ServiceCatalogOptions();
        options.NodeAddresses.Clear();
        options.NodeAddresses.Add(IPAddress.Any);
        return new ServiceCatalog(options);
    }

    /// <summary>Picks <paramref name="count"/> times and keeps every connection open, as the forwarder does while a connection lasts.</summary>
    private static Dictionary<EndpointState, int> PickAndHold(PortRoute route, int count)
    {
        var picks = new Dictionary<EndpointState, int>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < count; i++)
        {
            var endpoint = route.Picker!.Pick(default)!;
            endpoint.OnConnecting();
            picks[endpoint] = picks.GetValueOrDefault(endpoint) + 1;
        }

        return picks;
    }

    private static Service LeastConnectionsNodePort(TrafficPolicy internalPolicy, TrafficPolicy externalPolicy) => new()
    {
        Name = "web",
        Type = ServiceType.NodePort,
        Selector = Web,
        Balancer = BalancingStrategies.LeastConnections,
        InternalTrafficPolicy = internalPolicy,
        ExternalTrafficPolicy = externalPolicy,
        Ports = [new ServicePort { Port = 80 }],
    };

    // Finding 1a: the internal (Local) route's least-load tree lost its leaves to the external route's tree and never updated.
    [Fact]
    public void LeastConnections_InternalLocalExternalCluster_BothRoutesSpreadOverTheirEndpoints()
    {
        var catalog = OnNode1();
        var update = new CatalogUpdate().SetService(LeastConnectionsNodePort(TrafficPolicy.Local, TrafficPolicy.Cluster));
        for (var i = 0; i < 70; i++)
        {
            update.SetPod(PodOn($"local-{i}", $"10.0.1.{i + 1}", "n1"));
        }

        update.SetPod(PodOn("remote", "10.0.2.1", "n2"));
        catalog.Apply(update);

        // A rebuild (the remote pod's weight) must leave both routes' trees fed, too.
        catalog.SetPod(PodOn("remote", "10.0.2.1", "n2") with { Weight = 2 });
        var port = Port(catalog);
        Assert.NotSame(port.Internal, port.External);
        Assert.Equal(70, port.Internal.Endpoints.Length);
        Assert.Equal(71, port.External.Endpoints.Length);

        // 140 connections over 70 idle endpoints: two each.
        var internalPicks = PickAndHold(port.Internal, 140);
        Assert.Equal(70, internalPicks.Count);
        Assert.All(internalPicks.Values, count => Assert.Equal(2, count));

        // The external tree saw those connections: the idle remote endpoint is the least loaded there.
        var external = port.External.Picker!.Pick(default)!;
        Assert.Equal("n2", external.NodeName);
    }

    // Finding 1b: under externalTrafficPolicy Local the internal tree's all-local subtrees were never recomputed, starving local endpoints of VIP traffic.
    [Fact]
    public void LeastConnections_ExternalLocalInternalCluster_BothRoutesSpreadOverTheirEndpoints()
    {
        var catalog = OnNode1();
        var update = new CatalogUpdate().SetService(LeastConnectionsNodePort(TrafficPolicy.Cluster, TrafficPolicy.Local));
        for (var i = 0; i < 70; i++)
        {
            update.SetPod(PodOn($"local-{i}", $"10.0.1.{i + 1}", "n1"));
            update.SetPod(PodOn($"remote-{i}", $"10.0.2.{i + 1}", "n2"));
        }

        catalog.Apply(update);
        var port = Port(catalog);
        Assert.Equal(140, port.Internal.Endpoints.Length);
        Assert.Equal(70, port.External.Endpoints.Length);

        // 140 connections over 140 idle endpoints: one each, local ones included.
        var internalPicks = PickAndHold(port.Internal, 140);
        Assert.Equal(140, internalPicks.Count);
        Assert.Equal(70, internalPicks.Keys.Count(e => e.NodeName == "n1"));

        // The external tree saw them too: 70 more connections go one to each local endpoint.
        var externalPicks = PickAndHold(port.External, 70);
        Assert.Equal(70, externalPicks.Count);
        Assert.All(externalPicks.Keys, e => Assert.Equal(2, e.ActiveConnections));
    }

    // Finding 2: a throwing change-token callback escaped Apply after publication and the Changed event (the listeners) never heard of the version.
    [Fact]
    public void ThrowingSubscribers_DoNotStopTheUpdate_NorTheOtherSubscribers()
    {
        var logs = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        var catalog = new ServiceCatalog(new ServiceCatalogOptions { LoggerFactory = factory });
        catalog.Apply(new CatalogUpdate().SetService(WebService()).SetPod(PodOn("web-1", "10.0.1.1")).SetPod(PodOn("web-2", "10.0.1.2")));
        var web1 = Port(catalog).AllEndpoints.Single(e => e.Pod == new NamespacedName("default", "web-1"));

        var seen = new List<long>();
        catalog.GetChangeToken().RegisterChangeCallback(_ => throw new InvalidOperationException("token subscriber"), null);
        catalog.Changed += (_, _) => throw new InvalidOperationException("first handler");
        catalog.Changed += (_, e) => seen.Add(e.Snapshot.Version);

        var published = catalog.RemovePod(new NamespacedName("default", "web-1"));

        Assert.Equal(2, published.Version);
        Assert.Same(published, catalog.Current);
        Assert.Equal([2L], seen);
        Assert.True(web1.IsRemoved);
        Assert.Equal(2, logs.Messages.Count(m => m.Contains("version 2", StringComparison.Ordinal)));

        // The next token works as usual.
        var token = catalog.GetChangeToken();
        catalog.RemovePod(new NamespacedName("default", "web-2"));
        Assert.True(token.HasChanged);
        Assert.Equal([2L, 3L], seen);
    }

    // Finding 2b: Apply re-entered from a Changed handler announced version N+1 before N, so a later subscriber dropped N.
    [Fact]
    public void ApplyFromInsideANotification_Throws_AndVersionsAreAnnouncedInOrder()
    {
        var catalog = new ServiceCatalog();
        var seen = new List<long>();
        Exception? fromHandler = null;
        Exception? fromToken = null;
        var other = new Service { Name = "other", Ports = [new ServicePort { Port = 81 }] };
        catalog.GetChangeToken().RegisterChangeCallback(_ => fromToken = Record.Exception(() => catalog.SetService(other)), null);
        catalog.Changed += (_, e) =>
        {
            if (e.Snapshot.Version == 1)
            {
                fromHandler = Record.Exception(() => catalog.SetService(other));
            }
        };
        catalog.Changed += (_, e) => seen.Add(e.Snapshot.Version);

        catalog.SetService(WebService());

        Assert.IsType<InvalidOperationException>(fromHandler);
        Assert.IsType<InvalidOperationException>(fromToken);
        Assert.Equal(1, catalog.Current.Version);
        Assert.False(catalog.Current.Services.ContainsKey(other.Id));

        // Applied afterwards, the queued change is the next version, announced after the first.
        catalog.SetService(other);
        Assert.Equal([1L, 2L], seen);
    }

    // Finding 6: a user strategy that threw while building pickers escaped after the desired state was committed, leaving the published snapshot stale.
    [Fact]
    public void ThrowingStrategy_FallsBackToRoundRobin_AndThePublishedStateFollowsTheDesiredOne()
    {
        var flaky = new FlakyStrategy { Throw = true };
        var logs = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        var options = new ServiceCatalogOptions { LoggerFactory = factory };
        options.Strategies.Add(flaky);
        var catalog = new ServiceCatalog(options);

        var first = catalog.Apply(new CatalogUpdate()
            .SetService(WebService() with { Balancer = "flaky" })
            .SetPod(PodOn("web-1", "10.0.1.1"))
            .SetPod(PodOn("web-2", "10.0.1.2"))
            .SetPod(PodOn("web-3", "10.0.1.3")));
        Assert.Equal(1, first.Version);

        var second = catalog.RemovePod(new NamespacedName("default", "web-1"));

        Assert.Equal(2, second.Version);
        var port = Port(catalog);
        Assert.Equal(["10.0.1.2", "10.0.1.3"], port.Endpoints.Select(e => e.EndPoint.Address.ToString()));
        var picks = Enumerable.Range(0, 4).Select(_ => port.Picker!.Pick(default)!.EndPoint.Address.ToString()).ToArray();
        Assert.DoesNotContain("10.0.1.1", picks);
        Assert.Equal(2, picks.Distinct().Count());
        Assert.NotEqual(picks[0], picks[1]);
        Assert.Equal(picks[0], picks[2]);
        Assert.Contains(logs.Messages, m => m.Contains("'flaky' failed", StringComparison.Ordinal));

        // Once the strategy works again, an unrelated change does not bring the removed pod back.
        flaky.Throw = false;
        catalog.SetService(new Service { Name = "other", Ports = [new ServicePort { Port = 81 }] });
        Assert.Equal(3, catalog.Current.Version);
        Assert.Equal(2, Port(catalog).Endpoints.Length);
    }

    // Finding 3: when the routes split, the external route got a fresh affinity table and every external client lost its stickiness.
    [Fact]
    public void Affinity_RoutesSplitAndMerge_OneTablePerPort_ClientKeepsItsEndpoint()
    {
        var catalog = OnNode1();
        var service = new Service
        {
            Name = "web",
            Type = ServiceType.NodePort,
            Selector = Web,
            SessionAffinity = SessionAffinity.ClientIP,
            ExternalTrafficPolicy = TrafficPolicy.Local,
            Ports = [new ServicePort { Port = 80 }],
        };
        catalog.Apply(new CatalogUpdate().SetService(service).SetPod(PodOn("local", "10.0.1.1", "n1")));
        var before = Port(catalog);
        Assert.Same(before.Internal, before.External);
        var client = ClientAddress.From(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 5555));
        var local = before.External.Endpoints[0];
        before.External.Affinity!.Bind(client, local);

        // A remote pod splits the routes: the external one (Local) still takes the local endpoint.
        catalog.SetPod(PodOn("remote", "10.0.2.1", "n2"));

        var split = Port(catalog);
        Assert.NotSame(split.Internal, split.External);
        Assert.Same(before.Affinity, split.Internal.Affinity);
        Assert.Same(split.Internal.Affinity, split.External.Affinity);
        Assert.True(split.External.Takes(local));
        Assert.True(split.External.Affinity!.TryGet(client, out var bound));
        Assert.Same(local, bound);

        // Merged again, the same table still holds the client.
        catalog.RemovePod(new NamespacedName("default", "remote"));

        var merged = Port(catalog);
        Assert.Same(merged.Internal, merged.External);
        Assert.Same(before.Affinity, merged.Affinity);
        Assert.True(merged.External.Affinity!.TryGet(client, out bound));
        Assert.Same(local, bound);
    }

    // Finding 4: a headless service without ports published no endpoint at all, so discovery had nothing to return.
    [Fact]
    public void Headless_WithoutPorts_ListsItsPodsAsPortlessEndpoints_AndFollowsPodChanges()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(new Service { Name = "web", Headless = true, Selector = Web })
            .SetPod(PodOn("web-1", "10.0.1.1", "n1") with { Hostname = "web-1", Subdomain = "web" })
            .SetPod(PodOn("web-2", "10.0.1.2") with { Ready = false }));

        var service = catalog.Current.Services[WebId];
        Assert.Empty(service.Ports);
        Assert.Equal(["10.0.1.1:0", "10.0.1.2:0"], service.PortlessEndpoints.Select(e => e.EndPoint.ToString()));
        Assert.Equal(EndpointConditions.ReadyAndServing, service.PortlessEndpoints[0].Conditions);
        Assert.Equal("web-1", service.PortlessEndpoints[0].Hostname);
        Assert.Equal("n1", service.PortlessEndpoints[0].NodeName);
        Assert.Equal(new EndpointConditions(false, false, false), service.PortlessEndpoints[1].Conditions);
        var web1 = service.PortlessEndpoints[0];

        // web-2 becomes ready, web-1 goes away.
        var snapshot = catalog.Apply(new CatalogUpdate().SetPod(PodOn("web-2", "10.0.1.2")).RemovePod(new NamespacedName("default", "web-1")));

        var after = Assert.Single(snapshot.Services[WebId].PortlessEndpoints);
        Assert.Equal("10.0.1.2:0", after.EndPoint.ToString());
        Assert.Equal(EndpointConditions.ReadyAndServing, after.Conditions);
        Assert.True(web1.IsRemoved);
        Assert.Equal(WebId, Assert.Single(snapshot.ChangedServices));
    }

    // Finding 4 (explicit endpoints): a portless headless service lists its slices' and mirrored Endpoints' addresses with port 0 and their conditions.
    [Fact]
    public void Headless_WithoutPorts_ListsSliceAndEndpointsAddressesAsPortlessEndpoints()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(new Service { Name = "web", Headless = true })
            .SetEndpointSlice(new EndpointSlice
            {
                Name = "web-abc",
                ServiceName = "web",
                Endpoints = [new SliceEndpoint { Addresses = [IPAddress.Parse("10.0.9.1")], Hostname = "web-0", Conditions = new EndpointConditions(false, true, true) }],
            })
            .SetEndpoints(new Endpoints
            {
                Name = "web",
                Subsets = [new EndpointSubset { Addresses = [new EndpointAddress { IP = IPAddress.Parse("10.0.9.2") }], NotReadyAddresses = [new EndpointAddress { IP = IPAddress.Parse("10.0.9.3") }] }],
            }));

        var portless = catalog.Current.Services[WebId].PortlessEndpoints;
        Assert.Equal(["10.0.9.1:0", "10.0.9.2:0", "10.0.9.3:0"], portless.Select(e => e.EndPoint.ToString()));
        Assert.Equal([new EndpointConditions(false, true, true), EndpointConditions.ReadyAndServing, new EndpointConditions(false, true, false)], portless.Select(e => e.Conditions));
        Assert.Equal("web-0", portless[0].Hostname);
        var removed = portless[0];

        catalog.Apply(new CatalogUpdate().RemoveEndpointSlice(new NamespacedName("default", "web-abc")));
        Assert.Equal(["10.0.9.2:0", "10.0.9.3:0"], catalog.Current.Services[WebId].PortlessEndpoints.Select(e => e.EndPoint.ToString()));
        Assert.True(removed.IsRemoved);
    }

    // Finding 5: Pod.Labels was stored by reference, so a caller changing its dictionary desynchronised the label index.
    [Fact]
    public void PodLabels_AreCopied_CallerChangesDoNotReachThePod_AndRelabelWorks()
    {
        var catalog = new ServiceCatalog();
        var labels = new Dictionary<string, string> { ["app"] = "web" };
        var pod = new Pod { Name = "p", Address = IPAddress.Parse("10.0.1.1"), Labels = labels };
        catalog.Apply(new CatalogUpdate().SetService(WebService()).SetPod(pod));
        Assert.Single(Port(catalog).AllEndpoints);

        labels["app"] = "other";
        Assert.Equal("web", pod.Labels["app"]);
        catalog.SetService(new Service { Name = "other", Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "other" }), Ports = [new ServicePort { Port = 80 }] });
        Assert.Single(Port(catalog).AllEndpoints);
        Assert.Empty(catalog.Current.Services[new NamespacedName("default", "other")].Ports[0].AllEndpoints);

        // Relabelled through SetPod (the same, changed dictionary), the pod moves from web to other.
        catalog.SetPod(new Pod { Name = "p", Address = IPAddress.Parse("10.0.1.1"), Labels = labels });
        Assert.Empty(Port(catalog).AllEndpoints);
        Assert.Single(catalog.Current.Services[new NamespacedName("default", "other")].Ports[0].AllEndpoints);

        labels["app"] = "web";
        catalog.SetPod(new Pod { Name = "p", Address = IPAddress.Parse("10.0.1.1"), Labels = labels });
        Assert.Single(Port(catalog).AllEndpoints);
        Assert.Empty(catalog.Current.Services[new NamespacedName("default", "other")].Ports[0].AllEndpoints);
    }

    // Perf finding: a pod change scanned every service requiring any one of its pairs (tier=backend: all of them); it must touch only its own service.
    [Fact]
    public void PodChange_WithManyServicesSharingAPair_ChangesOnlyItsOwnService()
    {
        var catalog = new ServiceCatalog(new ServiceCatalogOptions { ServiceCidr = IPNetwork.Parse("10.96.0.0/12") });
        var update = new CatalogUpdate();
        for (var i = 0; i < 2_000; i++)
        {
            var selector = new Dictionary<string, string> { ["app"] = $"svc-{i}", ["tier"] = "backend" };
            update.SetService(new Service { Name = $"svc-{i}", Selector = new LabelSelector(selector), Ports = [new ServicePort { Port = 80 }] });
        }

        catalog.Apply(update);
        var announced = new List<CatalogChangedEventArgs>();
        catalog.Changed += (_, e) => announced.Add(e);

        var snapshot = catalog.SetPod(new Pod
        {
            Name = "p",
            Address = IPAddress.Parse("10.0.0.1"),
            Labels = new Dictionary<string, string> { ["app"] = "svc-5", ["tier"] = "backend" },
        });

        var svc5 = new NamespacedName("default", "svc-5");
        Assert.Equal(svc5, Assert.Single(snapshot.ChangedServices));
        var change = Assert.Single(Assert.Single(announced).Changes);
        Assert.Equal(svc5, change.Service);
        Assert.Single(change.AddedEndpoints);
        Assert.Single(snapshot.Services[svc5].Ports[0].AllEndpoints);

        // A pod sharing only the common pair belongs to no service: nothing changes.
        var unchanged = catalog.SetPod(new Pod
        {
            Name = "q",
            Address = IPAddress.Parse("10.0.0.2"),
            Labels = new Dictionary<string, string> { ["app"] = "none", ["tier"] = "backend" },
        });
        Assert.Same(snapshot, unchanged);
    }

    // Finding 9: with a wildcard node address, a node port must collide with an address claim on any address at that port, both ways.
    [Fact]
    public void WildcardNodeAddress_ExternalIPAtAnotherServicesNodePort_IsRejectedNamingBoth()
    {
        var catalog = Wildcard();
        catalog.SetService(new Service { Name = "np", Type = ServiceType.NodePort, Ports = [new ServicePort { Port = 80, NodePort = 30080 }] });

        // The service's own VIP at that port collides too: on a wildcard node address the node port listens on every address.
        var errors = Assert.Throws<CatalogValidationException>(() => catalog.SetService(
            new Service { Name = "ext", ExternalIPs = [IPAddress.Parse("192.0.2.10")], Ports = [new ServicePort { Port = 30080 }] })).Errors.Select(e => e.ToString()).ToArray();
        Assert.Contains("service default/ext: spec.externalIPs[0]: 192.0.2.10:30080/Tcp is already used by service default/np", errors);
        Assert.Contains(errors, e => e.StartsWith("service default/ext: spec.clusterIP: ", StringComparison.Ordinal) && e.EndsWith(":30080/Tcp is already used by service default/np", StringComparison.Ordinal));
        Assert.Equal(2, errors.Length);
        Assert.False(catalog.Current.Services.ContainsKey(new NamespacedName("default", "ext")));

        // The other way round: the external IP first, then a node port at its port.
        var reverse = Wildcard();
        reverse.SetService(new Service { Name = "ext", ExternalIPs = [IPAddress.Parse("192.0.2.10")], Ports = [new ServicePort { Port = 30080 }] });
        var error = Assert.Single(Assert.Throws<CatalogValidationException>(() => reverse.SetService(
            new Service { Name = "np", Type = ServiceType.NodePort, Ports = [new ServicePort { Port = 80, NodePort = 30080 }] })).Errors).ToString();
        Assert.StartsWith("service default/np: spec.ports[0].nodePort: 30080/Tcp is already ", error, StringComparison.Ordinal);
        Assert.EndsWith(" service default/ext", error, StringComparison.Ordinal);
    }

    // Finding 9 (allocation): with a wildcard node address, node port allocation must skip ports that address claims use.
    [Fact]
    public void WildcardNodeAddress_NodePortAllocation_AvoidsPortsOfAddressClaims()
    {
        var nodePort = new Service { Name = "np", Type = ServiceType.NodePort, Ports = [new ServicePort { Port = 80 }] };
        var probe = Wildcard();
        probe.SetService(nodePort);
        var preferred = probe.Current.Services[nodePort.Id].Ports[0].Port.NodePort;
        var claim = new Service { Name = "ext", ExternalIPs = [IPAddress.Parse("192.0.2.10")], Ports = [new ServicePort { Port = preferred }] };

        // The claim committed before.
        var catalog = Wildcard();
        catalog.SetService(claim);
        catalog.SetService(nodePort);
        var allocated = catalog.Current.Services[nodePort.Id].Ports[0].Port.NodePort;
        Assert.InRange(allocated, 30000, 32767);
        Assert.NotEqual(preferred, allocated);

        // The claim staged in the same batch.
        var batch = Wildcard();
        batch.Apply(new CatalogUpdate().SetService(claim).SetService(nodePort));
        Assert.NotEqual(preferred, batch.Current.Services[nodePort.Id].Ports[0].Port.NodePort);
    }

    // Finding 7: a headless service with externalIPs listened on them; kube-proxy skips headless services entirely.
    [Fact]
    public void Headless_WithExternalIPs_HasNoListenEndPoints_AndClaimsNothing()
    {
        var catalog = new ServiceCatalog();
        var address = IPAddress.Parse("192.0.2.10");
        catalog.SetService(new Service { Name = "web", Headless = true, Selector = Web, ExternalIPs = [address], Ports = [new ServicePort { Port = 80 }] });

        var port = Port(catalog);
        Assert.Null(port.VirtualEndPoint);
        Assert.Empty(port.ExternalEndPoints);
        Assert.Empty(port.NodePortEndPoints);
        Assert.Empty(port.LoadBalancerEndPoints);

        // Nothing listens there, so another service may.
        catalog.SetService(new Service { Name = "other", ExternalIPs = [address], Ports = [new ServicePort { Port = 80 }] });
        Assert.Single(catalog.Current.Services[new NamespacedName("default", "other")].Ports[0].ExternalEndPoints);
    }

    // Small finding: mirrored notReadyAddresses were neither ready nor serving; the mirroring controller leaves serving unset (true).
    [Fact]
    public void MirroredNotReadyAddresses_AreServingButNotReadyNorTerminating()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(new Service { Name = "web", Ports = [new ServicePort { Port = 80 }] })
            .SetEndpoints(new Endpoints
            {
                Name = "web",
                Subsets =
                [
                    new EndpointSubset
                    {
                        NotReadyAddresses = [new EndpointAddress { IP = IPAddress.Parse("10.0.1.2") }],
                        Ports = [new EndpointPort { Port = 8080 }],
                    },
                ],
            }));

        var endpoint = Assert.Single(Port(catalog).AllEndpoints);
        Assert.Equal(new EndpointConditions(Ready: false, Serving: true, Terminating: false), endpoint.Conditions);
        Assert.False(endpoint.Conditions.IsFallback);
        Assert.Empty(Port(catalog).Endpoints);
    }

    // Small finding: PreferSameNode narrowed to this node although some ready endpoint had no node name (hints count only when all have one).
    [Fact]
    public void PreferSameNode_DoesNotNarrow_WhenSomeReadyEndpointHasNoNode()
    {
        var catalog = OnNode1();
        catalog.Apply(new CatalogUpdate()
            .SetService(WebService() with { TrafficDistribution = TrafficDistribution.PreferSameNode })
            .SetPod(PodOn("web-1", "10.0.1.1", "n1"))
            .SetPod(PodOn("web-2", "10.0.1.2", "n2"))
            .SetPod(PodOn("web-3", "10.0.1.3", node: null)));
        Assert.Equal(3, Port(catalog).Endpoints.Length);

        // Once every ready endpoint has a node, this node's are preferred.
        catalog.SetPod(PodOn("web-3", "10.0.1.3", "n2"));
        Assert.Equal(["10.0.1.1"], Port(catalog).Endpoints.Select(e => e.EndPoint.Address.ToString()));
    }

    // Small finding: naming the only port while adding a second one replaced its endpoints, losing their counters.
    [Fact]
    public void RenamingTheOnlyPort_WhileAddingASecond_KeepsItsEndpointStates()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate().SetService(WebService()).SetPod(PodOn("web-1", "10.0.1.1")));
        var endpoint = Assert.Single(Port(catalog).AllEndpoints);
        endpoint.OnConnecting();

        catalog.SetService(WebService() with { Ports = [new ServicePort { Name = "http", Port = 80 }, new ServicePort { Name = "metrics", Port = 9090 }] });

        var ports = catalog.Current.Services[WebId].Ports;
        Assert.Equal(["http", "metrics"], ports.Select(p => p.Port.Name));
        Assert.Same(endpoint, Assert.Single(ports[0].AllEndpoints));
        Assert.Equal(1, endpoint.ActiveConnections);
        Assert.False(endpoint.IsRemoved);
        Assert.NotSame(endpoint, Assert.Single(ports[1].AllEndpoints));
    }

    // Small finding: a Local policy on a catalog without NodeName must refuse that traffic (no local endpoint), and say so.
    [Fact]
    public void LocalPolicy_WithoutNodeName_RoutesNowhere_AndWarns()
    {
        var logs = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        var catalog = new ServiceCatalog(new ServiceCatalogOptions { LoggerFactory = factory });
        catalog.Apply(new CatalogUpdate()
            .SetService(WebService() with { Type = ServiceType.NodePort, InternalTrafficPolicy = TrafficPolicy.Local })
            .SetPod(PodOn("web-1", "10.0.1.1", "n1")));

        var port = Port(catalog);
        Assert.Single(port.AllEndpoints);
        Assert.Empty(port.Internal.Endpoints);
        Assert.Null(port.Internal.Picker);
        Assert.Single(port.External.Endpoints);
        Assert.Contains(logs.Messages, m => m.Contains("default/web", StringComparison.Ordinal) && m.Contains("no NodeName", StringComparison.Ordinal));

        catalog.SetService(WebService() with { Type = ServiceType.NodePort, ExternalTrafficPolicy = TrafficPolicy.Local });
        port = Port(catalog);
        Assert.Single(port.Internal.Endpoints);
        Assert.Empty(port.External.Endpoints);
        Assert.Null(port.External.Picker);
    }

    private sealed class FlakyStrategy : IBalancingStrategy
    {
        public bool Throw { get; set; }

        public string Name => "flaky";

        public IEndpointPicker CreatePicker(ImmutableArray<EndpointState> endpoints)
            => Throw ? throw new InvalidOperationException("strategy failed") : new RoundRobinStrategy().CreatePicker(endpoints);
    }
}
