using System.Buffers;
using System.Net;
using System.Net.Sockets;
using FastProxy.Transport.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Xunit;

namespace FastProxy.Transport.Tests;

/// <summary>Socket transport behaviour checked against plain <see cref="Socket"/> peers.</summary>
public sealed class SocketTransportTests
{
    private const int HalfCloseLength = 4 * 1024 * 1024;

    [Fact]
    public async Task Listener_RawClientHalfCloses_ServerSeesEofAndStillReplies()
    {
        var factory = new SocketConnectionListenerFactory();
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.EndPoint).WaitAsync(TestIO.Timeout);
        await using var server = (await listener.AcceptAsync().AsTask().WaitAsync(TestIO.Timeout))!;

        var serverSide = Task.Run(async () =>
        {
            var received = await TestIO.ReadPatternToEndAsync(server.Transport.Input, seed: 11);
            await TestIO.WritePatternAsync(server.Transport.Output, HalfCloseLength, seed: 12);
            await server.Transport.Output.CompleteAsync();
            return received;
        });

        await TestIO.SendAllAsync(client, TestIO.Pattern(HalfCloseLength, seed: 11));
        client.Shutdown(SocketShutdown.Send);

        var reply = await TestIO.ReceiveToEndAsync(client);
        Assert.Equal(HalfCloseLength, await serverSide.WaitAsync(TestIO.Timeout));
        Assert.Equal(TestIO.Pattern(HalfCloseLength, seed: 12), reply);
    }

    [Fact]
    public async Task ConnectionFactory_HalfClosesToRawServer_StillReceivesReply()
    {
        using var listenSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listenSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listenSocket.Listen();
        var accept = listenSocket.AcceptAsync();

        var factory = new SocketConnectionFactory();
        await using var client = await factory.ConnectAsync(listenSocket.LocalEndPoint!).AsTask().WaitAsync(TestIO.Timeout);
        using var server = await accept.WaitAsync(TestIO.Timeout);

        var serverSide = Task.Run(async () =>
        {
            // The raw server sees EOF only after all the data: our Output.Complete() sent FIN, not RST.
            var received = await TestIO.ReceiveToEndAsync(server);
            await TestIO.SendAllAsync(server, TestIO.Pattern(HalfCloseLength, seed: 14));
            server.Shutdown(SocketShutdown.Send);
            return received;
        });

        await TestIO.WritePatternAsync(client.Transport.Output, HalfCloseLength, seed: 13).WaitAsync(TestIO.Timeout);
        await client.Transport.Output.CompleteAsync();

        Assert.Equal(HalfCloseLength, await TestIO.ReadPatternToEndAsync(client.Transport.Input, seed: 14).WaitAsync(TestIO.Timeout));
        Assert.Equal(TestIO.Pattern(HalfCloseLength, seed: 13), await serverSide.WaitAsync(TestIO.Timeout));
    }

    [Fact]
    public async Task Abort_SendsRstToRawPeer()
    {
        var factory = new SocketConnectionListenerFactory();
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.EndPoint).WaitAsync(TestIO.Timeout);
        await using var server = (await listener.AcceptAsync().AsTask().WaitAsync(TestIO.Timeout))!;

        // Unsent data must be dropped, not delivered followed by FIN.
        await server.Transport.Output.WriteAsync(new byte[100]).AsTask().WaitAsync(TestIO.Timeout);
        var received = new byte[100];
        Assert.Equal(100, await ReceiveAtLeastAsync(client, received));

        server.Abort(new ConnectionAbortedException("test"));

        var error = await Assert.ThrowsAsync<SocketException>(() => TestIO.ReceiveToEndAsync(client));
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
    }

    [Fact]
    public async Task RawPeerReset_SurfacesAsConnectionResetException()
    {
        var factory = new SocketConnectionListenerFactory();
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.EndPoint).WaitAsync(TestIO.Timeout);
        await using var server = (await listener.AcceptAsync().AsTask().WaitAsync(TestIO.Timeout))!;

        client.LingerState = new LingerOption(true, 0);
        client.Dispose();

        var error = await Assert.ThrowsAsync<ConnectionResetException>(() => TestIO.DrainAsync(server.Transport.Input).WaitAsync(TestIO.Timeout));
        Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);

        // A reset closes the whole connection: the send side reports completion too.
        await TestIO.WhenCancelled(server.ConnectionClosed).WaitAsync(TestIO.Timeout);
        var flush = await server.Transport.Output.WriteAsync(new byte[10]).AsTask().WaitAsync(TestIO.Timeout);
        Assert.True(flush.IsCompleted);
    }

    [Fact]
    public async Task ConnectAsync_NothingListening_ThrowsConnectionRefused()
    {
        // A bound but not listening socket holds the port, so nobody else can listen on it during the test.
        using var placeholder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        placeholder.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var factory = new SocketConnectionFactory();
        var error = await Assert.ThrowsAsync<SocketException>(() => factory.ConnectAsync(placeholder.LocalEndPoint!).AsTask().WaitAsync(TestIO.Timeout));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }

    [Fact]
    public async Task ConnectAsync_AlreadyCancelled_ThrowsOperationCanceled()
    {
        using var listenSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listenSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listenSocket.Listen();

        var factory = new SocketConnectionFactory();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => factory.ConnectAsync(listenSocket.LocalEndPoint!, new CancellationToken(canceled: true)).AsTask().WaitAsync(TestIO.Timeout));
    }

    [Fact]
    public async Task ConnectAsync_CancelledWhilePending_ThrowsOperationCanceled()
    {
        // Linux drops SYNs to a listener whose accept queue is full, so a connect to it stays pending.
        using var listenSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listenSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listenSocket.Listen(1);
        var fillers = new List<Socket>();
        try
        {
            var factory = new SocketConnectionFactory();
            for (var i = 0; i < 16; i++)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                try
                {
                    await filler.ConnectAsync(listenSocket.LocalEndPoint!, cts.Token).AsTask().WaitAsync(TestIO.Timeout);
                }
                catch (OperationCanceledException)
                {
                    // The queue is full; now the real attempt.
                    using var connectTimeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
                    var started = DateTime.UtcNow;
                    await Assert.ThrowsAnyAsync<OperationCanceledException>(() => factory.ConnectAsync(listenSocket.LocalEndPoint!, connectTimeout.Token).AsTask().WaitAsync(TestIO.Timeout));
                    Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
                    return;
                }
            }

            Assert.Fail("The listener never stopped completing connects.");
        }
        finally
        {
            foreach (var filler in fillers)
            {
                filler.Dispose();
            }
        }
    }

    [Fact]
    public async Task IdleConnections_HoldNoPoolBlocks()
    {
        const int Count = 100;
        var listenerFactory = new SocketConnectionListenerFactory();
        var connectionFactory = new SocketConnectionFactory();
        await using var listener = await listenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var clients = new List<ConnectionContext>();
        var servers = new List<ConnectionContext>();
        try
        {
            for (var i = 0; i < Count; i++)
            {
                var accept = listener.AcceptAsync().AsTask();
                clients.Add(await connectionFactory.ConnectAsync(listener.EndPoint).AsTask().WaitAsync(TestIO.Timeout));
                servers.Add((await accept.WaitAsync(TestIO.Timeout))!);

                // A socket connection starts its loops when its Transport is first used; start them, then idle.
                _ = clients[^1].Transport;
                _ = servers[^1].Transport;
            }

            // Idle: every receive loop is parked on a zero-byte receive and holds nothing.
            Assert.Equal(0, listenerFactory.RentedBlockCount);
            Assert.Equal(0, connectionFactory.RentedBlockCount);

            // Data in flight that the application has not read yet sits in pool blocks.
            foreach (var client in clients)
            {
                await client.Transport.Output.WriteAsync(new byte[1000]).AsTask().WaitAsync(TestIO.Timeout);
            }

            Assert.True(await TestIO.EventuallyAsync(() => listenerFactory.RentedBlockCount >= Count), $"Rented: {listenerFactory.RentedBlockCount}");

            // Once consumed, the blocks go back.
            foreach (var server in servers)
            {
                await TestIO.ReadExactlyAsync(server.Transport.Input, 1000).WaitAsync(TestIO.Timeout);
            }

            Assert.True(await TestIO.EventuallyAsync(() => listenerFactory.RentedBlockCount == 0 && connectionFactory.RentedBlockCount == 0), $"Rented: {listenerFactory.RentedBlockCount}/{connectionFactory.RentedBlockCount}");
        }
        finally
        {
            foreach (var connection in clients.Concat(servers))
            {
                await connection.DisposeAsync().AsTask().WaitAsync(TestIO.Timeout);
            }
        }

        // Disposal returned everything.
        Assert.Equal(0, listenerFactory.RentedBlockCount);
        Assert.Equal(0, connectionFactory.RentedBlockCount);
    }

    [Fact]
    public async Task IdleConnections_WithoutWaitForData_EachHoldABlock()
    {
        const int Count = 10;
        var listenerFactory = new SocketConnectionListenerFactory(new SocketTransportOptions { WaitForDataBeforeAllocatingBuffer = false });
        await using var listener = await listenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var clients = new List<Socket>();
        var servers = new List<ConnectionContext>();
        try
        {
            for (var i = 0; i < Count; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(listener.EndPoint).WaitAsync(TestIO.Timeout);
                servers.Add((await listener.AcceptAsync().AsTask().WaitAsync(TestIO.Timeout))!);
                _ = servers[^1].Transport; // starts the receive loop
            }

            // The option exists for a reason: without it each idle connection pins a block.
            Assert.True(await TestIO.EventuallyAsync(() => listenerFactory.RentedBlockCount == Count), $"Rented: {listenerFactory.RentedBlockCount}");
        }
        finally
        {
            foreach (var server in servers)
            {
                server.Abort();
                await server.DisposeAsync().AsTask().WaitAsync(TestIO.Timeout);
            }

            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        Assert.Equal(0, listenerFactory.RentedBlockCount);
    }

    [Fact]
    public async Task ReusePort_TwoListenersOnOnePort_BothAcceptConnections()
    {
        var options = new SocketTransportOptions { ReusePort = true };
        var factory = new SocketConnectionListenerFactory(options);
        await using var first = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        await using var second = await factory.BindAsync(first.EndPoint);
        Assert.Equal(first.EndPoint, second.EndPoint);

        // Without the option on both sides the port is exclusive.
        await Assert.ThrowsAsync<AddressInUseException>(() => new SocketConnectionListenerFactory().BindAsync(first.EndPoint).AsTask());

        var counts = new int[2];
        var accepted = new List<ConnectionContext>();
        var acceptLoops = new[] { first, second }.Select((listener, index) => Task.Run(async () =>
        {
            while (await listener.AcceptAsync() is { } connection)
            {
                lock (accepted)
                {
                    accepted.Add(connection);
                    counts[index]++;
                }
            }
        })).ToArray();

        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(first.EndPoint).WaitAsync(TestIO.Timeout);
            }

            Assert.True(await TestIO.EventuallyAsync(() => { lock (accepted) { return accepted.Count == 100; } }), $"Accepted {accepted.Count}");
            Assert.True(counts[0] > 0 && counts[1] > 0, $"Split {counts[0]}/{counts[1]}");
        }
        finally
        {
            await first.UnbindAsync();
            await second.UnbindAsync();
            await Task.WhenAll(acceptLoops).WaitAsync(TestIO.Timeout);
            foreach (var connection in accepted)
            {
                connection.Abort();
                await connection.DisposeAsync().AsTask().WaitAsync(TestIO.Timeout);
            }

            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task Bind_NonLoopback127Address_ReportsRealPortAndIPv4Endpoints()
    {
        var address = IPAddress.Parse("127.10.0.1");
        var factory = new SocketConnectionListenerFactory();
        await using var listener = await factory.BindAsync(new IPEndPoint(address, 0));
        var endPoint = Assert.IsType<IPEndPoint>(listener.EndPoint);
        Assert.Equal(address, endPoint.Address);
        Assert.NotEqual(0, endPoint.Port);

        var accept = listener.AcceptAsync().AsTask();
        await using var client = await new SocketConnectionFactory().ConnectAsync(endPoint).AsTask().WaitAsync(TestIO.Timeout);
        await using var server = (await accept.WaitAsync(TestIO.Timeout))!;

        Assert.Equal($"127.10.0.1:{endPoint.Port}", server.LocalEndPoint!.ToString());
        Assert.Same(server.Features.Get<IConnectionSocketFeature>()!.Socket.LocalEndPoint!.GetType(), typeof(IPEndPoint));
        Assert.Equal(AddressFamily.InterNetwork, server.Features.Get<IConnectionSocketFeature>()!.Socket.AddressFamily);
    }

    [Fact]
    public void Options_OutOfRange_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SocketConnectionListenerFactory(new SocketTransportOptions { Backlog = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SocketConnectionFactory(new SocketTransportOptions { BlockSize = 100 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SocketConnectionFactory(new SocketTransportOptions { IOQueueCount = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SocketConnectionFactory(new SocketTransportOptions { MaxWriteBufferSize = -1 }));
    }

    private static async Task<int> ReceiveAtLeastAsync(Socket socket, byte[] buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var count = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None).AsTask().WaitAsync(TestIO.Timeout);
            if (count == 0)
            {
                break;
            }

            total += count;
        }

        return total;
    }
}
