using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;
using FastProxy.Transport.Sockets;
using FastProxy.Transport.Tests;

namespace FastProxy.Forwarding.Tests;

/// <summary>End-to-end behaviour of the proxy over real loopback sockets, run once per forwarding path.</summary>
public abstract class ProxyServerTests
{
    /// <summary>True: socket-to-socket relay; false: copy between the connections' pipes.</summary>
    protected abstract bool UseSocketRelay { get; }

    /// <summary>True: the relay's sockets are driven by FastProxy's epoll loops where supported; false: by the runtime's socket engine.</summary>
    protected virtual bool UseEpollRelay => true;

    private Task<ProxyTestEnvironment> StartAsync(int pods, Action<ProxyServerBuilder>? configure = null)
        => ProxyTestEnvironment.StartAsync(pods, builder =>
        {
            if (!UseEpollRelay)
            {
                // The runtime's socket engine for everything, connects included.
                builder.UseSockets(new SocketTransportOptions { ConnectThroughEpoll = false });
            }

            builder.Configure(o =>
            {
                o.UseSocketRelay = UseSocketRelay;
                o.UseEpollRelay = UseEpollRelay;
            });
            configure?.Invoke(builder);
        });

    [Fact]
    public async Task Connections_SpreadRoundRobinAcrossThreePods()
    {
        await using var env = await StartAsync(pods: 3);

        var served = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            served.Add(await TestClient.WhoServesAsync(env.VirtualEndPoint));
        }

        Assert.Equal(["web-1", "web-2", "web-3", "web-1", "web-2", "web-3", "web-1", "web-2", "web-3"], served);
        Assert.All(env.Backends, b => Assert.Equal(3, b.Accepted));
    }

    [Fact]
    public async Task Data_EchoedThroughTheProxyIntact()
    {
        await using var env = await StartAsync(pods: 1);
        await using var client = await ConnectToFirstPodAsync(env);
        await EchoIntactAsync(client, 8 * 1024 * 1024);
    }

    [Fact]
    public async Task AfterBulkTransfer_IdleConnectionHoldsNoBuffers()
    {
        var listeners = new SocketConnectionListenerFactory();
        var upstream = new SocketConnectionFactory();
        await using var env = await StartAsync(pods: 1, b => b.UseListenerFactory(listeners).UseConnectionFactory(upstream));
        await using var client = await ConnectToFirstPodAsync(env);

        // Big enough to fill blocks back to back, which moves a relay direction onto bulk blocks and splice.
        await EchoIntactAsync(client, 4 * 1024 * 1024);

        // Still open, now idle: both directions park on a zero-byte receive and give every block back.
        Assert.True(await TestIO.EventuallyAsync(() => listeners.RentedBlockCount == 0 && upstream.RentedBlockCount == 0),
            $"Rented blocks: accepted side {listeners.RentedBlockCount}, upstream side {upstream.RentedBlockCount}");
        if (!(UseSocketRelay && UseEpollRelay && OperatingSystem.IsLinux() && EpollRelay.IsSupported))
        {
            // The epoll relay receives into its loop's own buffer and rents a block only for data a slow receiver
            // cannot take yet; the other paths receive into pool blocks, so theirs must have gone through the pools.
            Assert.True(listeners.AllocatedBlockCount > 0, "The transfer went through these factories' pools.");
        }
    }

    [Fact]
    public async Task SlowReader_BackpressureHoldsTheData_NothingLost()
    {
        await using var env = await StartAsync(pods: 1);
        await using var client = await ConnectToFirstPodAsync(env);

        // The client does not read for a while: the echo fills every buffer on the way back, the proxy must stop
        // forwarding (not buffer without bound, not drop), and deliver everything once the client reads.
        var payload = RandomNumberGenerator.GetBytes(32 * 1024 * 1024);
        var send = client.SendAsync(payload);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var echo = await client.ReadExactlyAsync(payload.Length);
        await send;
        Assert.Equal(payload, echo);
    }

    [Fact]
    public async Task ClientResetMidBulk_ConnectionEndsCleanly_ProxyKeepsServing()
    {
        await using var env = await StartAsync(pods: 1);
        var client = await ConnectToFirstPodAsync(env);

        // Bulk first, so the relay has moved on to bulk blocks (and splice on Linux) in both directions.
        await EchoIntactAsync(client, 4 * 1024 * 1024);
        // More than every socket buffer on the echo loop holds (~40 MiB on loopback) while the client reads
        // nothing back, so the send is still running when the client resets.
        var sending = client.SendAsync(RandomNumberGenerator.GetBytes(64 * 1024 * 1024));
        await Task.Delay(TimeSpan.FromMilliseconds(100));
        client.Socket.LingerState = new LingerOption(true, 0);
        client.Socket.Close();
        await Assert.ThrowsAnyAsync<Exception>(() => sending);
        await client.DisposeAsync();

        // The proxy tears down both sides of that connection and keeps serving new ones.
        Assert.True(await TestIO.EventuallyAsync(() => env.Proxy.ActiveConnections == 0), $"Still open: {env.Proxy.ActiveConnections}");
        await using var again = await ConnectToFirstPodAsync(env);
        await EchoIntactAsync(again, 1024 * 1024);
    }

    [Fact]
    public async Task HalfClose_ClientShutsDownSend_StillReadsFullReply()
    {
        await using var env = await StartAsync(pods: 1);
        await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
        var payload = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);

        // Send everything and half-close at once: the proxy must pass the FIN on only after the data,
        // keep the reply direction open, and pass the backend's FIN back.
        var reply = client.ReadToEndAsync();
        await client.SendAsync(payload);
        client.ShutdownSend();

        var received = await reply;
        Assert.Equal("web-1\n".Length + payload.Length, received.Length);
        Assert.Equal(payload, received.AsSpan("web-1\n".Length).ToArray());
    }

    [Fact]
    public async Task PodRemoved_GetsNoNewConnections_WhileItsOpenConnectionCompletes()
    {
        await using var env = await StartAsync(pods: 3);
        await using var open = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.Equal("web-1", await open.ReadLineAsync());

        env.Catalog.RemovePod(new NamespacedName("default", "web-1"));

        for (var i = 0; i < 6; i++)
        {
            Assert.NotEqual("web-1", await TestClient.WhoServesAsync(env.VirtualEndPoint));
        }

        Assert.Equal(1, env.Backends[0].Accepted);

        // The connection that was open when the pod left still works end to end.
        var payload = RandomNumberGenerator.GetBytes(256 * 1024);
        var echo = open.ReadExactlyAsync(payload.Length);
        await open.SendAsync(payload);
        Assert.Equal(payload, await echo);
        open.ShutdownSend();
        Assert.Empty(await open.ReadToEndAsync());
    }

    [Fact]
    public async Task PodAdded_StartsReceiving()
    {
        await using var env = await StartAsync(pods: 2);
        var added = env.AddBackend();

        env.Catalog.SetPod(ProxyTestEnvironment.PodFor(added));

        var served = new HashSet<string>();
        for (var i = 0; i < 6; i++)
        {
            served.Add(await TestClient.WhoServesAsync(env.VirtualEndPoint));
        }

        Assert.Contains("web-3", served);
        Assert.Equal(2, added.Accepted);
    }

    [Fact]
    public async Task PodRelabelled_LeavesTheService()
    {
        await using var env = await StartAsync(pods: 2);
        env.Catalog.SetPod(ProxyTestEnvironment.PodFor(env.Backends[1], app: "other"));

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("web-1", await TestClient.WhoServesAsync(env.VirtualEndPoint));
        }
    }

    [Fact]
    public async Task ServiceAddedAfterStart_Listens_AndRemoved_StopsListening()
    {
        await using var env = await StartAsync(pods: 1);
        var (_, otherIP) = TestAddresses.Next();
        var other = new IPEndPoint(otherIP, 18081);

        var added = env.Catalog.SetService(new Service
        {
            Name = "other",
            ClusterIP = otherIP,
            Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "web" }),
            Ports = [new ServicePort { Port = other.Port, TargetPort = env.TargetPort }],
        });
        await env.Proxy.WhenAppliedAsync(added.Version).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("web-1", await TestClient.WhoServesAsync(other));

        var removed = env.Catalog.RemoveService(new NamespacedName("default", "other"));
        await env.Proxy.WhenAppliedAsync(removed.Version).WaitAsync(TimeSpan.FromSeconds(10));
        var refused = await Assert.ThrowsAsync<SocketException>(() => TestClient.ConnectAsync(other));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        // The unrelated service kept its listener throughout.
        Assert.Equal("web-1", await TestClient.WhoServesAsync(env.VirtualEndPoint));
    }

    [Fact]
    public async Task NoReadyEndpoint_ConnectionIsReset()
    {
        await using var env = await StartAsync(pods: 1);
        env.Catalog.RemovePod(new NamespacedName("default", "web-1"));

        // The reset may already be seen by the client's connect, or only by its first read.
        var error = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
            await client.ReadToEndAsync();
        });
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
    }

    [Fact]
    public async Task DeadEndpoint_ConnectRetriesAnother_NoClientFails()
    {
        await using var env = await StartAsync(pods: 3);
        // web-2 goes away without the catalog knowing: its connects are refused.
        await env.Backends[1].DisposeAsync();

        for (var i = 0; i < 9; i++)
        {
            Assert.NotEqual("web-2", await TestClient.WhoServesAsync(env.VirtualEndPoint));
        }

        var state = env.Catalog.Current.Services[new("default", "web")].Ports[0].Endpoints[1];
        // Round robin offers web-2 to every second client; each of those 4 connects fails over to web-3.
        Assert.Equal(4, state.FailedConnects);
    }

    [Fact]
    public async Task BackendReset_IsPassedOnAsReset()
    {
        await using var env = await StartAsync(pods: 1);
        env.Backends[0].ResetOnAccept = true;

        var error = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
            await client.ReadToEndAsync();
        });
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
    }

    [Fact]
    public async Task EndpointCounters_TrackConnectionsAndBytes()
    {
        await using var env = await StartAsync(pods: 1);
        var endpoint = env.Catalog.Current.Services[new("default", "web")].Ports[0].Endpoints[0];
        await using (var client = await TestClient.ConnectAsync(env.VirtualEndPoint))
        {
            await client.ReadLineAsync();
            await client.SendAsync(new byte[1000]);
            await client.ReadExactlyAsync(1000);
            Assert.Equal(1, endpoint.ActiveConnections);
            client.ShutdownSend();
            await client.ReadToEndAsync();
        }

        await WaitUntilAsync(() => endpoint.ActiveConnections == 0);
        Assert.Equal(1, endpoint.TotalConnections);
        Assert.Equal(1000, endpoint.BytesToEndpoint);
        Assert.Equal(1006, endpoint.BytesFromEndpoint);
    }

    [Fact]
    public async Task Middleware_RunsForEveryConnection_AndCanRefuse()
    {
        var seen = 0;
        await using var env = await StartAsync(pods: 1, builder => builder.Use(next => connection =>
        {
            // Refuse every second connection without forwarding it.
            return Interlocked.Increment(ref seen) % 2 == 0 ? Task.CompletedTask : next(connection);
        }));

        Assert.Equal("web-1", await TestClient.WhoServesAsync(env.VirtualEndPoint));
        Assert.Equal(string.Empty, await TestClient.WhoServesAsync(env.VirtualEndPoint));
        Assert.Equal(2, seen);
        Assert.Equal(1, env.Backends[0].Accepted);
    }

    [Fact]
    public async Task MiddlewareUsingTheTransport_ForwardingStillWorks()
    {
        // Middleware that touches Transport forces the pipe path even when the relay is enabled.
        await using var env = await StartAsync(pods: 1, builder => builder.Use(next => async connection =>
        {
            await connection.Transport.Output.WriteAsync("proxy\n"u8.ToArray());
            await next(connection);
        }));
        await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);

        Assert.Equal("proxy", await client.ReadLineAsync());
        Assert.Equal("web-1", await client.ReadLineAsync());
        await client.SendAsync(new byte[] { 7 });
        Assert.Equal(new byte[] { 7 }, await client.ReadExactlyAsync(1));
    }

    [Fact]
    public async Task StopAsync_ClosesListener_LetsOpenConnectionFinish()
    {
        await using var env = await StartAsync(pods: 1, b => b.Configure(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10)));
        await using var open = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.Equal("web-1", await open.ReadLineAsync());

        var stopping = env.Proxy.StopAsync();
        await WaitUntilAsync(() => env.Proxy.ListeningEndPoints.Count == 0);
        var refused = await Assert.ThrowsAsync<SocketException>(() => TestClient.ConnectAsync(env.VirtualEndPoint));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.False(stopping.IsCompleted);

        // The open connection still carries data both ways, then ends cleanly, and only then does Stop finish.
        await open.SendAsync(new byte[] { 1, 2, 3 });
        Assert.Equal(new byte[] { 1, 2, 3 }, await open.ReadExactlyAsync(3));
        open.ShutdownSend();
        Assert.Empty(await open.ReadToEndAsync());
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task StopAsync_AfterGracePeriod_ResetsOpenConnections()
    {
        await using var env = await StartAsync(pods: 1, b => b.Configure(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200)));
        await using var open = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.Equal("web-1", await open.ReadLineAsync());

        await env.Proxy.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var error = await Assert.ThrowsAsync<SocketException>(() => open.ReadToEndAsync());
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
        Assert.Equal(0, env.Proxy.ActiveConnections);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Condition not met within 10 s.");
            await Task.Delay(10);
        }
    }

    private static async Task<TestClient> ConnectToFirstPodAsync(ProxyTestEnvironment env)
    {
        var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
        Assert.Equal("web-1", await client.ReadLineAsync());
        return client;
    }

    private static async Task EchoIntactAsync(TestClient client, int length)
    {
        var payload = RandomNumberGenerator.GetBytes(length);
        var echo = client.ReadExactlyAsync(payload.Length);
        await client.SendAsync(payload);
        Assert.Equal(payload, await echo);
    }
}

/// <summary>The suite over the socket-to-socket relay (the default path: on Linux x86-64 driven by the epoll loops).</summary>
public sealed class ProxyServerRelayTests : ProxyServerTests
{
    protected override bool UseSocketRelay => true;
}

/// <summary>The suite over the socket-to-socket relay driven by the runtime's socket engine (the path elsewhere than Linux x86-64).</summary>
public sealed class ProxyServerAsyncRelayTests : ProxyServerTests
{
    protected override bool UseSocketRelay => true;

    protected override bool UseEpollRelay => false;
}

/// <summary>The suite over the pipe-to-pipe copy (taken when middleware uses the connection's Transport).</summary>
public sealed class ProxyServerPipeTests : ProxyServerTests
{
    protected override bool UseSocketRelay => false;
}
