using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Services.Tests;

/// <summary>
/// internalTrafficPolicy, externalTrafficPolicy and trafficDistribution over real loopback sockets, on a
/// catalog that is node <c>node-a</c> in zone <c>zone-a</c>.
/// </summary>
public sealed class TrafficPolicyTests
{
    private sealed record Placement(string? Node, string? Zone = null);

    /// <summary>Starts one pod per placement (pod-1..n) behind <paramref name="service"/> applied to the default web service.</summary>
    private static async Task<(ServiceTestHost Host, TestBackend[] Pods)> StartAsync(Func<ServiceTestHost, Service, Service> service, params Placement[] placements)
    {
        var host = ServiceTestHost.Create(ServiceTestHost.OnNodeA);
        try
        {
            var backends = host.StartBackends(placements.Length);
            var update = new CatalogUpdate().SetService(service(host, host.WebService(backends[0].EndPoint.Port)));
            for (var i = 0; i < placements.Length; i++)
            {
                update.SetPod(ServiceTestHost.PodOf(backends[i]) with { NodeName = placements[i].Node, Zone = placements[i].Zone });
            }

            host.Catalog.Apply(update);
            await host.StartProxyAsync();
            return (host, backends);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static IPEndPoint NodePortOf(ServiceTestHost host) => new(host.NodeAddress, host.Snapshot().Ports[0].Port.NodePort);

    [Fact]
    public async Task InternalLocal_OnlyThisNodesPods()
    {
        var (host, pods) = await StartAsync(static (_, s) => s with { InternalTrafficPolicy = TrafficPolicy.Local },
            new("node-a"), new("node-b"), new("node-a"), new(null));
        await using var _ = host;

        Assert.Equal(["pod-1", "pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 8));
        Assert.Equal(0, pods[1].Accepted);
        Assert.Equal(0, pods[3].Accepted);
    }

    [Fact]
    public async Task InternalLocal_NoLocalPod_ConnectionDropped_NoBackendReached()
    {
        var (host, pods) = await StartAsync(static (_, s) => s with { InternalTrafficPolicy = TrafficPolicy.Local },
            new("node-b"), new("node-c"));
        await using var _ = host;

        Assert.Empty(host.Snapshot().Ports[0].Internal.Endpoints);
        await host.AssertDroppedAsync(host.VirtualEndPoint);
        Assert.All(pods, static p => Assert.Equal(0, p.Accepted));
    }

    [Fact]
    public async Task InternalLocal_LocalPodTerminatingButServing_TakesTheTraffic_NotTheRemoteReadyPod()
    {
        var host = ServiceTestHost.Create(ServiceTestHost.OnNodeA);
        await using var _ = host;
        var pods = host.StartBackends(2);
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(host.WebService(pods[0].EndPoint.Port) with { InternalTrafficPolicy = TrafficPolicy.Local })
            .SetPod(ServiceTestHost.PodOf(pods[0]) with { NodeName = "node-a", Terminating = true })
            .SetPod(ServiceTestHost.PodOf(pods[1]) with { NodeName = "node-b" }));
        await host.StartProxyAsync();

        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
        Assert.Equal(0, pods[1].Accepted);
    }

    [Fact]
    public async Task ExternalLocal_NodePortAndLoadBalancerGoLocal_VirtualIPBalancesOverAll()
    {
        var (host, pods) = await StartAsync(static (h, s) => s with
        {
            Type = ServiceType.LoadBalancer,
            LoadBalancerIP = h.LoadBalancerIP,
            ExternalIPs = [h.At(220)],
            ExternalTrafficPolicy = TrafficPolicy.Local,
        }, new("node-a"), new("node-b"), new("node-a"));
        await using var _ = host;

        IPEndPoint[] external = [NodePortOf(host), new(host.LoadBalancerIP, ServiceTestHost.ServicePort), new(host.At(220), ServiceTestHost.ServicePort)];
        foreach (var endPoint in external)
        {
            Assert.Equal(["pod-1", "pod-3"], await ServiceTestHost.ReachedAsync(endPoint, 8));
        }

        Assert.Equal(0, pods[1].Accepted);
        Assert.Equal(["pod-1", "pod-2", "pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 9));
    }

    [Fact]
    public async Task ExternalLocal_NoLocalPod_NodePortDropped_VirtualIPStillServes()
    {
        var (host, _) = await StartAsync(static (_, s) => s with { Type = ServiceType.NodePort, ExternalTrafficPolicy = TrafficPolicy.Local },
            new("node-b"), new("node-c"));
        await using var __ = host;

        await host.AssertDroppedAsync(NodePortOf(host));
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }

    [Fact]
    public async Task ExternalLocal_PodMovesToThisNode_NodePortStartsServing()
    {
        var (host, pods) = await StartAsync(static (_, s) => s with { Type = ServiceType.NodePort, ExternalTrafficPolicy = TrafficPolicy.Local },
            new Placement("node-b"));
        await using var _ = host;
        await host.AssertDroppedAsync(NodePortOf(host));

        await host.SetPodAsync(ServiceTestHost.PodOf(pods[0]) with { NodeName = "node-a" });

        Assert.Equal("pod-1", await TestClient.WhoServesAsync(NodePortOf(host)));
    }

    [Fact]
    public async Task InternalLocal_DoesNotNarrowNodePortTraffic()
    {
        var (host, _) = await StartAsync(static (_, s) => s with { Type = ServiceType.NodePort, InternalTrafficPolicy = TrafficPolicy.Local },
            new("node-a"), new("node-b"));
        await using var __ = host;

        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(NodePortOf(host), 6));
    }

    [Fact]
    public async Task PreferSameZone_SendsToSameZonePods()
    {
        var (host, pods) = await StartAsync(static (_, s) => s with { TrafficDistribution = TrafficDistribution.PreferSameZone },
            new("node-x", "zone-a"), new("node-y", "zone-b"), new("node-z", "zone-a"));
        await using var _ = host;

        Assert.Equal(["pod-1", "pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 8));
        Assert.Equal(0, pods[1].Accepted);
    }

    [Fact]
    public async Task PreferSameZone_NoneInZone_FallsBackToAll()
    {
        var (host, _) = await StartAsync(static (_, s) => s with { TrafficDistribution = TrafficDistribution.PreferSameZone },
            new("node-x", "zone-b"), new("node-y", "zone-c"));
        await using var __ = host;

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }

    [Fact]
    public async Task PreferSameZone_SameZonePodGoes_FallsBackToAll()
    {
        var (host, pods) = await StartAsync(static (_, s) => s with { TrafficDistribution = TrafficDistribution.PreferSameZone },
            new("node-x", "zone-a"), new("node-y", "zone-b"), new("node-z", "zone-c"));
        await using var _ = host;
        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));

        await host.SetPodAsync(ServiceTestHost.PodOf(pods[0]) with { NodeName = "node-x", Zone = "zone-a", Ready = false });

        Assert.Equal(["pod-2", "pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }

    [Fact]
    public async Task PreferSameZone_AnEndpointWithoutZone_NoPreference()
    {
        var (host, _) = await StartAsync(static (_, s) => s with { TrafficDistribution = TrafficDistribution.PreferSameZone },
            new("node-x", "zone-a"), new("node-y", null));
        await using var __ = host;

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }

    [Fact]
    public async Task PreferSameNode_SendsToThisNodesPods_ThenSameZone_ThenAll()
    {
        var (host, _) = await StartAsync(static (_, s) => s with { TrafficDistribution = TrafficDistribution.PreferSameNode },
            new("node-a", "zone-a"), new("node-b", "zone-a"), new("node-c", "zone-c"));
        await using var __ = host;

        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));

        await host.ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", "pod-1")));
        Assert.Equal(["pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));

        await host.ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", "pod-2")));
        Assert.Equal(["pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
    }

    [Fact]
    public async Task PreferSameNode_NoLocalNoZoneMatch_FallsBackToAll()
    {
        var (host, _) = await StartAsync(static (_, s) => s with { TrafficDistribution = TrafficDistribution.PreferSameNode },
            new("node-b", "zone-b"), new("node-c", "zone-c"));
        await using var __ = host;

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }
}
