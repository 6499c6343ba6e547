using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Services.Tests;

/// <summary>Services backed by explicit endpoints (EndpointSlice, core/v1 Endpoints), over real loopback sockets.</summary>
public sealed class ExplicitEndpointsTests
{
    private static readonly NamespacedName SliceId = new("default", "web-abc");

    /// <summary>Service default/web without a selector: <paramref name="ports"/> on the test's virtual IP.</summary>
    private static Service SelectorLess(ServiceTestHost host, params ServicePort[] ports) => new()
    {
        Name = "web",
        ClusterIP = host.VirtualIP,
        Ports = [.. ports],
    };

    private static ServicePort Unnamed => new() { Port = ServiceTestHost.ServicePort };

    private static SliceEndpoint At(TestBackend backend, EndpointConditions? conditions = null) => new()
    {
        Addresses = [backend.EndPoint.Address],
        Conditions = conditions ?? EndpointConditions.ReadyAndServing,
    };

    private static EndpointSlice Slice(int port, params SliceEndpoint[] endpoints) => new()
    {
        Name = SliceId.Name,
        ServiceName = "web",
        Ports = [new EndpointPort { Port = port }],
        Endpoints = [.. endpoints],
    };

    private static EndpointAddress Address(TestBackend backend) => new() { IP = backend.EndPoint.Address };

    private static async Task StartAsync(ServiceTestHost host, CatalogUpdate update)
    {
        host.Catalog.Apply(update);
        await host.StartProxyAsync();
    }

    [Fact]
    public async Task EndpointSlice_BacksASelectorLessService()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, Unnamed))
            .SetEndpointSlice(Slice(pods[0].EndPoint.Port, At(pods[0]), At(pods[1]))));

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.All(host.Snapshot().Ports[0].AllEndpoints, static e => Assert.Null(e.Pod));
    }

    [Fact]
    public async Task EndpointSlice_NamedPorts_MatchedByServicePortName()
    {
        await using var host = ServiceTestHost.Create();
        var aHttp = host.StartBackend("a-http", 1);
        var aAdmin = host.StartBackend("a-admin", 1);
        var bHttp = host.StartBackend("b-http", 2, aHttp.EndPoint.Port);
        var bAdmin = host.StartBackend("b-admin", 2, aAdmin.EndPoint.Port);
        var stray = host.StartBackend("stray", 1);
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, new ServicePort { Name = "http", Port = 8080 }, new ServicePort { Name = "admin", Port = 9090 }))
            .SetEndpointSlice(new EndpointSlice
            {
                Name = SliceId.Name,
                ServiceName = "web",
                Ports =
                [
                    new EndpointPort { Name = "metrics", Port = stray.EndPoint.Port },
                    new EndpointPort { Name = "admin", Port = aAdmin.EndPoint.Port },
                    new EndpointPort { Name = "http", Port = aHttp.EndPoint.Port },
                ],
                Endpoints = [At(aHttp), At(bHttp)],
            }));

        Assert.Equal(["a-http", "b-http"], await ServiceTestHost.ReachedAsync(new IPEndPoint(host.VirtualIP, 8080), 6));
        Assert.Equal(["a-admin", "b-admin"], await ServiceTestHost.ReachedAsync(new IPEndPoint(host.VirtualIP, 9090), 6));
        Assert.Equal(0, stray.Accepted);
    }

    [Fact]
    public async Task EndpointSlice_PortOfAnotherName_ServesNothing()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(1);
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, Unnamed))
            .SetEndpointSlice(Slice(pods[0].EndPoint.Port, At(pods[0])) with { Ports = [new EndpointPort { Name = "http", Port = pods[0].EndPoint.Port }] }));

        Assert.Empty(host.Snapshot().Ports[0].AllEndpoints);
        await host.AssertDroppedAsync(host.VirtualEndPoint);
    }

    [Fact]
    public async Task TwoSlices_BothServe_RemovingOne_LeavesTheOther()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var second = new NamespacedName("default", "web-def");
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, Unnamed))
            .SetEndpointSlice(Slice(pods[0].EndPoint.Port, At(pods[0])))
            .SetEndpointSlice(Slice(pods[0].EndPoint.Port, At(pods[1])) with { Name = second.Name }));
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));

        await host.ApplyAsync(new CatalogUpdate().RemoveEndpointSlice(SliceId));

        var accepted = pods[0].Accepted;
        Assert.Equal(["pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
        Assert.Equal(accepted, pods[0].Accepted);

        await host.ApplyAsync(new CatalogUpdate().RemoveEndpointSlice(second));
        await host.AssertDroppedAsync(host.VirtualEndPoint);
    }

    [Fact]
    public async Task EndpointSlice_Conditions_Honoured()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(3);
        var ready = At(pods[0]);
        var notReady = At(pods[1], new EndpointConditions(false, false, false));
        var terminatingServing = At(pods[2], new EndpointConditions(false, true, true));
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, Unnamed))
            .SetEndpointSlice(Slice(pods[0].EndPoint.Port, ready, notReady, terminatingServing)));

        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));

        // The ready endpoint leaves the slice: the serving, terminating one takes the fallback; the not-ready one never.
        await host.ApplyAsync(new CatalogUpdate().SetEndpointSlice(Slice(pods[0].EndPoint.Port, notReady, terminatingServing)));

        Assert.Equal(["pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
        Assert.Equal(0, pods[1].Accepted);
    }

    [Fact]
    public async Task EndpointSlice_AlongsideSelectedPods_BothServe()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await StartAsync(host, new CatalogUpdate()
            .SetService(host.WebService(pods[0].EndPoint.Port))
            .SetPod(ServiceTestHost.PodOf(pods[0]))
            .SetEndpointSlice(Slice(pods[0].EndPoint.Port, At(pods[1]))));

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }

    [Fact]
    public async Task CoreV1Endpoints_BackASelectorLessService()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, Unnamed))
            .SetEndpoints(new Endpoints
            {
                Name = "web",
                Subsets = [new EndpointSubset { Addresses = [Address(pods[0]), Address(pods[1])], Ports = [new EndpointPort { Port = pods[0].EndPoint.Port }] }],
            }));

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }

    [Fact]
    public async Task CoreV1Endpoints_NamedPorts_EachSubsetItsOwnPorts()
    {
        await using var host = ServiceTestHost.Create();
        var aHttp = host.StartBackend("a-http", 1);
        var bHttp = host.StartBackend("b-http", 2);
        var bAdmin = host.StartBackend("b-admin", 2);
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, new ServicePort { Name = "http", Port = 8080 }, new ServicePort { Name = "admin", Port = 9090 }))
            .SetEndpoints(new Endpoints
            {
                Name = "web",
                Subsets =
                [
                    new EndpointSubset { Addresses = [Address(aHttp)], Ports = [new EndpointPort { Name = "http", Port = aHttp.EndPoint.Port }] },
                    new EndpointSubset
                    {
                        Addresses = [Address(bHttp)],
                        Ports = [new EndpointPort { Name = "http", Port = bHttp.EndPoint.Port }, new EndpointPort { Name = "admin", Port = bAdmin.EndPoint.Port }],
                    },
                ],
            }));

        Assert.Equal(["a-http", "b-http"], await ServiceTestHost.ReachedAsync(new IPEndPoint(host.VirtualIP, 8080), 6));
        Assert.Equal(["b-admin"], await ServiceTestHost.ReachedAsync(new IPEndPoint(host.VirtualIP, 9090), 4));
    }

    [Fact]
    public async Task CoreV1Endpoints_IgnoredForAServiceWithASelector()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await StartAsync(host, new CatalogUpdate()
            .SetService(host.WebService(pods[0].EndPoint.Port))
            .SetPod(ServiceTestHost.PodOf(pods[0]))
            .SetEndpoints(new Endpoints
            {
                Name = "web",
                Subsets = [new EndpointSubset { Addresses = [Address(pods[1])], Ports = [new EndpointPort { Port = pods[0].EndPoint.Port }] }],
            }));

        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.Equal(0, pods[1].Accepted);
        Assert.Single(host.Snapshot().Ports[0].AllEndpoints);
    }

    [Fact]
    public async Task CoreV1Endpoints_SelectorRemoved_EndpointsTakeOver()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var service = host.WebService(pods[0].EndPoint.Port);
        await StartAsync(host, new CatalogUpdate()
            .SetService(service)
            .SetPod(ServiceTestHost.PodOf(pods[0]))
            .SetEndpoints(new Endpoints
            {
                Name = "web",
                Subsets = [new EndpointSubset { Addresses = [Address(pods[1])], Ports = [new EndpointPort { Port = pods[0].EndPoint.Port }] }],
            }));
        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 3));

        await host.SetServiceAsync(service with { Selector = null });

        Assert.Equal(["pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 3));
    }

    [Fact]
    public async Task CoreV1Endpoints_NotReadyAddresses_GetNoTraffic()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(3);
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, Unnamed))
            .SetEndpoints(new Endpoints
            {
                Name = "web",
                Subsets =
                [
                    new EndpointSubset
                    {
                        Addresses = [Address(pods[0]), Address(pods[2])],
                        NotReadyAddresses = [Address(pods[1])],
                        Ports = [new EndpointPort { Port = pods[0].EndPoint.Port }],
                    },
                ],
            }));

        Assert.Equal(["pod-1", "pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 8));
        Assert.Equal(0, pods[1].Accepted);
        var port = host.Snapshot().Ports[0];
        Assert.Equal(3, port.AllEndpoints.Length);
        Assert.False(port.AllEndpoints.Single(e => e.EndPoint.Equals(pods[1].EndPoint)).Conditions.Ready);
    }

    [Fact]
    public async Task CoreV1Endpoints_OnlyNotReadyAddresses_ConnectionDropped()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(1);
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, Unnamed))
            .SetEndpoints(new Endpoints
            {
                Name = "web",
                Subsets = [new EndpointSubset { NotReadyAddresses = [Address(pods[0])], Ports = [new EndpointPort { Port = pods[0].EndPoint.Port }] }],
            }));

        await host.AssertDroppedAsync(host.VirtualEndPoint);
        Assert.Equal(0, pods[0].Accepted);
    }

    [Fact]
    public async Task InvalidEndpointSlice_RejectedWhole_LastGoodStateKeepsServing()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await StartAsync(host, new CatalogUpdate()
            .SetService(SelectorLess(host, Unnamed))
            .SetEndpointSlice(Slice(pods[0].EndPoint.Port, At(pods[0]))));
        var before = host.Catalog.Current;

        // An endpoint without an address (Kubernetes: endpoints[0].addresses: Required value), and a port out of range.
        Assert.Throws<CatalogValidationException>(() => host.Catalog.Apply(new CatalogUpdate()
            .SetEndpointSlice(Slice(pods[0].EndPoint.Port, At(pods[1]), new SliceEndpoint { Addresses = [] }))));
        Assert.Throws<CatalogValidationException>(() => host.Catalog.Apply(new CatalogUpdate()
            .SetEndpointSlice(Slice(70000, At(pods[1])))));
        Assert.Throws<CatalogValidationException>(() => host.Catalog.Apply(new CatalogUpdate().SetEndpoints(new Endpoints
        {
            Name = "web",
            Subsets = [new EndpointSubset { Addresses = [Address(pods[1])], Ports = [new EndpointPort { Port = 70000 }] }],
        })));

        Assert.Same(before, host.Catalog.Current);
        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 3));

        // The catalog is not wedged: the next valid slice applies.
        await host.ApplyAsync(new CatalogUpdate().SetEndpointSlice(Slice(pods[0].EndPoint.Port, At(pods[0]), At(pods[1]))));
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }
}
