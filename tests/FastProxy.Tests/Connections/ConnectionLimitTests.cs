using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;
using FastProxy.Transport.Tests;

namespace FastProxy.Connections.Tests;

/// <summary>Connection limits per service and per endpoint, rejecting or queueing, over real loopback; queue timeouts on a fake clock.</summary>
public sealed class ConnectionLimitTests
{
    [Fact]
    public async Task Reject_ServiceAtMax_NextConnectionReset_ASlotFreedLetsTheNextIn()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { MaxConnections = 2 }, pods: 2);
        var (first, _) = await env.ConnectAsync();
        var (second, _) = await env.ConnectAsync();
        await using var b = second;

        await ConnectionAssert.IsRefusedAsync(env.VirtualEndPoint);
        Assert.Equal(1, env.Counter("fastproxy.connections.refused", "reason=limit"));

        await first.DisposeAsync();
        Assert.True(await TestIO.EventuallyAsync(() => env.Proxy.ActiveConnections == 1));
        var (third, pod) = await env.ConnectAsync();
        await using var c = third;
        Assert.StartsWith("pod-", pod);
        await ConnectionAssert.EchoesAsync(second);
    }

    [Fact]
    public async Task PerEndpoint_FullEndpointSkipped_LikeAFailedOne_RejectedOnlyWhenAllAreFull()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { MaxConnectionsPerEndpoint = 1, Drain = DrainPolicy.Keep }, pods: 2);
        var (first, pod1) = await env.ConnectAsync();
        await using var a = first;
        Assert.Equal("pod-1", pod1);

        // Round robin offers pod-1 again to some client: it is full, so pod-2 takes it.
        var (second, pod2) = await env.ConnectAsync();
        await using var b = second;
        Assert.Equal("pod-2", pod2);

        await ConnectionAssert.IsRefusedAsync(env.VirtualEndPoint);
        Assert.Equal(1, env.Counter("fastproxy.connections.refused", "reason=limit"));
    }

    [Fact]
    public async Task Queue_ServiceAtMax_WaitsAndIsForwardedWhenASlotFrees()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { MaxConnections = 1, LimitAction = LimitAction.Queue, QueueTimeout = TimeSpan.FromSeconds(5) });
        var (first, _) = await env.ConnectAsync();
        await using var queued = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.True(await TestIO.EventuallyAsync(() => env.Counter("fastproxy.connections.queued") == 1));

        // Queued, so the pod has not greeted it; time passing below the timeout changes nothing.
        env.Time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(0, queued.Socket.Available);

        await first.DisposeAsync();
        Assert.Equal("pod-1", await queued.ReadLineAsync());
        await ConnectionAssert.EchoesAsync(queued);
    }

    [Fact]
    public async Task Queue_NoSlotWithinTheTimeout_Reset()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { MaxConnections = 1, LimitAction = LimitAction.Queue, QueueTimeout = TimeSpan.FromSeconds(5) });
        var (first, _) = await env.ConnectAsync();
        await using var a = first;
        await using var queued = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.True(await TestIO.EventuallyAsync(() => env.Counter("fastproxy.connections.queued") == 1));

        env.Time.Advance(TimeSpan.FromSeconds(5));

        await ConnectionAssert.IsResetAsync(queued);
        Assert.Equal(1, env.Counter("fastproxy.connections.refused", "reason=queue_timeout"));
        await ConnectionAssert.EchoesAsync(first);
    }

    [Fact]
    public async Task Queue_Full_FurtherConnectionsRejectedAtOnce()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { MaxConnections = 1, LimitAction = LimitAction.Queue, QueueLimit = 1 });
        var (first, _) = await env.ConnectAsync();
        await using var a = first;
        await using var queued = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.True(await TestIO.EventuallyAsync(() => env.Counter("fastproxy.connections.queued") == 1));

        await ConnectionAssert.IsRefusedAsync(env.VirtualEndPoint);
        Assert.Equal(1, env.Counter("fastproxy.connections.refused", "reason=queue_full"));
    }

    [Fact]
    public async Task Queue_PerEndpointFull_ForwardedWhenThatEndpointFrees()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { MaxConnectionsPerEndpoint = 1, LimitAction = LimitAction.Queue });
        var (first, _) = await env.ConnectAsync();
        await using var queued = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.True(await TestIO.EventuallyAsync(() => env.Counter("fastproxy.connections.queued") == 1));

        await first.DisposeAsync();

        Assert.Equal("pod-1", await queued.ReadLineAsync());
    }

    [Fact]
    public async Task Queue_ClientResetsWhileQueued_ItsPlaceIsFreedAtOnce()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { MaxConnections = 1, LimitAction = LimitAction.Queue, QueueLimit = 1, QueueTimeout = TimeSpan.FromMinutes(10) });
        var (first, _) = await env.ConnectAsync();
        var gone = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.True(await TestIO.EventuallyAsync(() => env.Counter("fastproxy.connections.queued") == 1));

        // The client gives up with a reset; the proxy lets go of it without waiting out the queue timeout.
        gone.Socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        await gone.DisposeAsync();
        Assert.True(await TestIO.EventuallyAsync(() => env.Proxy.ActiveConnections == 1));

        // Its place in the queue (limit 1) is free again, and the freed slot goes to the client still waiting.
        await using var next = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.True(await TestIO.EventuallyAsync(() => env.Counter("fastproxy.connections.queued") == 2));
        await first.DisposeAsync();
        Assert.Equal("pod-1", await next.ReadLineAsync());
        Assert.Equal(0, env.Counter("fastproxy.connections.refused"));
    }

    [Fact]
    public async Task Queue_WokenConnectionUsesTheRouteOfNow_NotTheOneItQueuedWith()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { MaxConnections = 1, LimitAction = LimitAction.Queue, QueueTimeout = TimeSpan.FromMinutes(10) }, pods: 2);
        await env.RemovePodAsync(2);
        var (first, pod) = await env.ConnectAsync();
        Assert.Equal("pod-1", pod);
        await using var queued = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.True(await TestIO.EventuallyAsync(() => env.Counter("fastproxy.connections.queued") == 1));

        // While it waits, pod-1 leaves (its connection kept running: drain policy keep) and pod-2 comes back.
        await env.ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", "pod-1")).SetPod(PolicyTestEnvironment.PodAt(2, env.Pods[1].Address)));
        await first.DisposeAsync();

        Assert.Equal("pod-2", await queued.ReadLineAsync());
    }

    [Fact]
    public async Task InProcessConnections_HoldThePerEndpointLimit_AndTheirCloseWakesTheProxysQueue()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { MaxConnectionsPerEndpoint = 1, LimitAction = LimitAction.Queue, QueueTimeout = TimeSpan.FromMinutes(10) });
        var connector = new Discovery.ServiceConnector(env.Catalog, new Discovery.ServiceConnectorOptions { FallbackToDns = false });
        var inProcess = await connector.ConnectAsync(env.Service.Name, ProxyTestEnvironment.ServicePort);

        var error = await Assert.ThrowsAsync<IOException>(() => connector.ConnectAsync(env.Service.Name, ProxyTestEnvironment.ServicePort).AsTask());
        Assert.Contains("max-connections-per-endpoint", error.Message, StringComparison.Ordinal);

        await using var queued = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.True(await TestIO.EventuallyAsync(() => env.Counter("fastproxy.connections.queued") == 1));
        await inProcess.DisposeAsync();

        Assert.Equal("pod-1", await queued.ReadLineAsync());
    }
}
