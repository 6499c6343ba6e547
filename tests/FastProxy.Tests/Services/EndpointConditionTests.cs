using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Services.Tests;

/// <summary>Endpoint conditions (ready, serving, terminating) and publishNotReadyAddresses, over real loopback sockets.</summary>
public sealed class EndpointConditionTests
{
    private static async Task<(ServiceTestHost Host, TestBackend[] Pods)> StartAsync(Func<Service, Service>? service, params Func<Pod, Pod>[] pods)
    {
        var host = ServiceTestHost.Create();
        var backends = host.StartBackends(pods.Length);
        var update = new CatalogUpdate().SetService((service ?? (static s => s))(host.WebService(backends[0].EndPoint.Port)));
        for (var i = 0; i < pods.Length; i++)
        {
            update.SetPod(pods[i](ServiceTestHost.PodOf(backends[i])));
        }

        try
        {
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

    private static Pod AsIs(Pod pod) => pod;

    private static Pod Unready(Pod pod) => pod with { Ready = false };

    private static Pod TerminatingServing(Pod pod) => pod with { Terminating = true };

    private static Pod TerminatingNotServing(Pod pod) => pod with { Ready = false, Terminating = true };

    [Fact]
    public async Task OnlyReadyPods_GetConnections()
    {
        var (host, pods) = await StartAsync(null, AsIs, Unready, AsIs);
        await using var _ = host;

        Assert.Equal(["pod-1", "pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 9));
        Assert.Equal(0, pods[1].Accepted);

        // The unready pod is still an endpoint (discovery shows it), only not a route.
        var port = host.Snapshot().Ports[0];
        Assert.Equal(3, port.AllEndpoints.Length);
        Assert.Equal(new EndpointConditions(false, false, false), port.AllEndpoints[1].Conditions);
        Assert.Equal(2, port.Internal.Endpoints.Length);
    }

    [Fact]
    public async Task TerminatingServing_GetsNone_WhileAReadyOneExists_ThenTakesTheFallback()
    {
        var (host, pods) = await StartAsync(null, AsIs, TerminatingServing);
        await using var _ = host;
        Assert.Equal(new EndpointConditions(false, true, true), host.Snapshot().Ports[0].AllEndpoints[1].Conditions);

        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.Equal(0, pods[1].Accepted);

        // The last ready pod goes: the terminating one that still serves takes connections rather than none.
        await host.ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", "pod-1")));

        Assert.Equal(["pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
        Assert.Equal(4, pods[1].Accepted);

        // A ready pod comes back: the terminating one stops taking new connections.
        await host.SetPodAsync(ServiceTestHost.PodOf(pods[0]));
        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
        Assert.Equal(4, pods[1].Accepted);
    }

    [Fact]
    public async Task TerminatingServing_TakeTheFallback_WhenTheOtherPodsAreUnready()
    {
        var (host, pods) = await StartAsync(null, Unready, TerminatingServing, TerminatingServing);
        await using var _ = host;

        Assert.Equal(["pod-2", "pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 8));
        Assert.Equal(0, pods[0].Accepted);
    }

    [Fact]
    public async Task NotServing_NeverGetsConnections_EvenAsTheOnlyEndpoints()
    {
        var (host, pods) = await StartAsync(null, Unready, TerminatingNotServing);
        await using var _ = host;

        Assert.Equal(2, host.Snapshot().Ports[0].AllEndpoints.Length);
        Assert.Empty(host.Snapshot().Ports[0].Internal.Endpoints);
        await host.AssertDroppedAsync(host.VirtualEndPoint);
        Assert.All(pods, static p => Assert.Equal(0, p.Accepted));
    }

    [Fact]
    public async Task PublishNotReadyAddresses_UnreadyPodReceives()
    {
        var (host, _) = await StartAsync(static s => s with { PublishNotReadyAddresses = true }, AsIs, Unready);
        await using var __ = host;

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.True(host.Snapshot().Ports[0].AllEndpoints[1].Conditions.Ready);
    }

    [Fact]
    public async Task PublishNotReadyAddresses_TurnedOff_UnreadyPodStops()
    {
        var (host, pods) = await StartAsync(static s => s with { PublishNotReadyAddresses = true }, AsIs, Unready);
        await using var _ = host;
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        var accepted = pods[1].Accepted;

        await host.SetServiceAsync(host.WebService(pods[0].EndPoint.Port));

        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.Equal(accepted, pods[1].Accepted);
    }

    [Fact]
    public async Task ReadinessFlips_TrafficFollows()
    {
        var (host, pods) = await StartAsync(null, AsIs, Unready);
        await using var _ = host;
        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));

        await host.SetPodAsync(ServiceTestHost.PodOf(pods[1]));
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));

        await host.SetPodAsync(Unready(ServiceTestHost.PodOf(pods[0])));
        var accepted = pods[0].Accepted;
        Assert.Equal(["pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
        Assert.Equal(accepted, pods[0].Accepted);
    }
}
