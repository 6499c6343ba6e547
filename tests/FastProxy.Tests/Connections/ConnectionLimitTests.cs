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
}
