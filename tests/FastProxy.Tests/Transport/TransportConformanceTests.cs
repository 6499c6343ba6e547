using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Xunit;

namespace FastProxy.Transport.Tests;

/// <summary>
/// The connection contract the forwarder relies on, run against every transport: both ends are
/// <see cref="ConnectionContext"/>s made by the transport's listener and connection factories.
/// </summary>
public sealed class TransportConformanceTests
{
    public static TheoryData<TransportKind> Transports => TestIO.AllTransports;

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Echo_SmallMessages_RoundTrip(TransportKind kind)
    {
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();
        var echo = TestIO.EchoAsync(server);

        for (var i = 0; i < 3; i++)
        {
            var message = Encoding.ASCII.GetBytes($"ping {i}");
            await client.Transport.Output.WriteAsync(message).AsTask().WaitAsync(TestIO.Timeout);
            var reply = await TestIO.ReadExactlyAsync(client.Transport.Input, message.Length).WaitAsync(TestIO.Timeout);
            Assert.Equal(message, reply);
        }

        await client.Transport.Output.CompleteAsync();
        await echo.WaitAsync(TestIO.Timeout);
        var rest = await TestIO.ReadPatternToEndAsync(client.Transport.Input, seed: 0).WaitAsync(TestIO.Timeout);
        Assert.Equal(0, rest);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Echo_64MiBFullDuplex_ContentIntact(TransportKind kind)
    {
        const long Length = 64L * 1024 * 1024;
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();
        var echo = TestIO.EchoAsync(server);

        // Write and read at the same time: with bounded buffers a sequential write-then-read would deadlock.
        var write = Task.Run(async () =>
        {
            await TestIO.WritePatternAsync(client.Transport.Output, Length, seed: 7);
            await client.Transport.Output.CompleteAsync();
        });
        var read = Task.Run(() => TestIO.ReadPatternToEndAsync(client.Transport.Input, seed: 7));

        var timeout = TimeSpan.FromSeconds(30);
        await write.WaitAsync(timeout);
        Assert.Equal(Length, await read.WaitAsync(timeout));
        await echo.WaitAsync(TestIO.Timeout);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task HalfClose_ClientCompletesOutput_ServerStillReplies(TransportKind kind)
    {
        const int Length = 4 * 1024 * 1024;
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();

        var serverSide = Task.Run(async () =>
        {
            // Input completes cleanly on the client's FIN, after all 4 MiB...
            var received = await TestIO.ReadPatternToEndAsync(server.Transport.Input, seed: 1);

            // ...and the send direction still works.
            await TestIO.WritePatternAsync(server.Transport.Output, Length, seed: 2);
            await server.Transport.Output.CompleteAsync();
            return received;
        });

        await TestIO.WritePatternAsync(client.Transport.Output, Length, seed: 1).WaitAsync(TestIO.Timeout);
        await client.Transport.Output.CompleteAsync();

        var replied = await TestIO.ReadPatternToEndAsync(client.Transport.Input, seed: 2).WaitAsync(TestIO.Timeout);
        Assert.Equal(Length, await serverSide.WaitAsync(TestIO.Timeout));
        Assert.Equal(Length, replied);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task HalfClose_BothSidesComplete_ConnectionClosedFires(TransportKind kind)
    {
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();
        var clientClosed = TestIO.WhenCancelled(client.ConnectionClosed);
        var serverClosed = TestIO.WhenCancelled(server.ConnectionClosed);

        await client.Transport.Output.CompleteAsync();
        Assert.Equal(0, await TestIO.ReadPatternToEndAsync(server.Transport.Input, seed: 0).WaitAsync(TestIO.Timeout));

        // Only one direction is finished: the connection must stay open.
        await Task.Delay(100);
        Assert.False(client.ConnectionClosed.IsCancellationRequested);
        Assert.False(server.ConnectionClosed.IsCancellationRequested);

        await server.Transport.Output.CompleteAsync();
        Assert.Equal(0, await TestIO.ReadPatternToEndAsync(client.Transport.Input, seed: 0).WaitAsync(TestIO.Timeout));

        await clientClosed.WaitAsync(TestIO.Timeout);
        await serverClosed.WaitAsync(TestIO.Timeout);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Abort_PeerInputFaultsWithConnectionReset(TransportKind kind)
    {
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();

        // Data in flight must not turn the reset into an orderly end.
        await client.Transport.Output.WriteAsync(new byte[1000]).AsTask().WaitAsync(TestIO.Timeout);
        await TestIO.ReadExactlyAsync(server.Transport.Input, 1000).WaitAsync(TestIO.Timeout);

        client.Abort(new ConnectionAbortedException("test abort"));

        await Assert.ThrowsAsync<ConnectionResetException>(() => TestIO.ReadPatternToEndAsync(server.Transport.Input, seed: 0).WaitAsync(TestIO.Timeout));

        // The aborting side's own Input ends with the abort reason (or simply completes).
        var ownRead = await Record.ExceptionAsync(() => TestIO.ReadPatternToEndAsync(client.Transport.Input, seed: 0).WaitAsync(TestIO.Timeout));
        Assert.True(ownRead is null or ConnectionAbortedException, $"Unexpected {ownRead}");

        // The peer's writes stop being accepted instead of buffering forever.
        Assert.True(await WriteUntilCompletedAsync(server.Transport.Output).WaitAsync(TestIO.Timeout));

        await TestIO.WhenCancelled(client.ConnectionClosed).WaitAsync(TestIO.Timeout);
        await TestIO.WhenCancelled(server.ConnectionClosed).WaitAsync(TestIO.Timeout);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task CompleteOutputWithException_ResetsPeer(TransportKind kind)
    {
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();

        await client.Transport.Output.CompleteAsync(new InvalidOperationException("app failure"));

        await Assert.ThrowsAsync<ConnectionResetException>(() => TestIO.ReadPatternToEndAsync(server.Transport.Input, seed: 0).WaitAsync(TestIO.Timeout));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task DisposeAsync_DeliversWrittenDataThenFin(TransportKind kind)
    {
        const int Length = 256 * 1024;
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();
        var serverRead = Task.Run(() => TestIO.ReadPatternToEndAsync(server.Transport.Input, seed: 3));

        await TestIO.WritePatternAsync(client.Transport.Output, Length, seed: 3).WaitAsync(TestIO.Timeout);
        await client.DisposeAsync().AsTask().WaitAsync(TestIO.Timeout);
        await client.DisposeAsync().AsTask().WaitAsync(TestIO.Timeout); // idempotent

        Assert.True(client.ConnectionClosed.IsCancellationRequested);
        Assert.Equal(Length, await serverRead.WaitAsync(TestIO.Timeout));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Backpressure_PeerNeverReads_FlushStopsCompleting(TransportKind kind)
    {
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();
        ShrinkKernelBuffers(client, server);

        // The server application never reads. Keep writing until a flush does not complete.
        var output = client.Transport.Output;
        var (written, stalled) = await FillUntilStalledAsync(output);

        // Bounded: 64 KiB output pipe + small kernel buffers + the peer's 1 MiB input pipe.
        Assert.True(stalled is not null, $"Wrote {written} bytes without the flush ever blocking.");
        Assert.InRange(written, 64 * 1024, 4 * 1024 * 1024);

        // Once the peer reads, the writer resumes and everything arrives.
        var drain = Task.Run(() => TestIO.DrainAsync(server.Transport.Input));
        var result = await stalled.WaitAsync(TestIO.Timeout);
        Assert.False(result.IsCompleted);
        await output.CompleteAsync();
        Assert.Equal(written, await drain.WaitAsync(TestIO.Timeout));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task DisposeAsync_PeerNeverReads_WaitsUntilAborted(TransportKind kind)
    {
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();
        ShrinkKernelBuffers(client, server);

        // Buffer far more than fits between the two applications (64 KiB output pipe + small kernel buffers +
        // 1 MiB peer input pipe), then dispose: the send loop cannot drain it while the peer does not read.
        var output = client.Transport.Output;
        output.Write(new byte[8 * 1024 * 1024]);
        var flush = output.FlushAsync().AsTask();

        var dispose = client.DisposeAsync().AsTask();
        await Task.Delay(300);
        Assert.False(dispose.IsCompleted, $"DisposeAsync should wait for the send loop to drain ({dispose.Status}: {dispose.Exception}).");

        // Abort is the documented way to bound it.
        client.Abort();
        await dispose.WaitAsync(TestIO.Timeout);
        Assert.True((await flush.WaitAsync(TestIO.Timeout)).IsCompleted);
        await Assert.ThrowsAsync<ConnectionResetException>(() => TestIO.DrainAsync(server.Transport.Input).WaitAsync(TestIO.Timeout));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Features_ExposeConnectionFeatures(TransportKind kind)
    {
        await using var harness = await TransportHarness.StartAsync(kind);
        var (client, server) = await harness.ConnectAsync();

        foreach (var connection in new[] { client, server })
        {
            var features = connection.Features;
            Assert.Same(connection.Transport, features.Get<IConnectionTransportFeature>()!.Transport);
            Assert.Equal(connection.ConnectionId, features.Get<IConnectionIdFeature>()!.ConnectionId);
            Assert.False(string.IsNullOrEmpty(connection.ConnectionId));
            Assert.NotNull(features.Get<IConnectionItemsFeature>()!.Items);
            Assert.Equal(connection.ConnectionClosed, features.Get<IConnectionLifetimeFeature>()!.ConnectionClosed);
            Assert.NotNull(features.Get<IMemoryPoolFeature>()!.MemoryPool);

            var socketFeature = features.Get<IConnectionSocketFeature>();
            Assert.Equal(harness.IsSockets, socketFeature is not null);

            // Unknown features can be added and removed.
            features.Set<IFormatProvider>(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Same(System.Globalization.CultureInfo.InvariantCulture, features.Get<IFormatProvider>());
            features.Set<IFormatProvider>(null);
            Assert.Null(features.Get<IFormatProvider>());
        }

        Assert.NotEqual(client.ConnectionId, server.ConnectionId);

        // Endpoints mirror each other and stay IPv4 for an IPv4 listener.
        var listenerEndPoint = (IPEndPoint)harness.Listener.EndPoint;
        Assert.NotEqual(0, listenerEndPoint.Port);
        Assert.Equal(listenerEndPoint, client.RemoteEndPoint);
        Assert.Equal(listenerEndPoint, server.LocalEndPoint);
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
        Assert.Equal(AddressFamily.InterNetwork, ((IPEndPoint)client.LocalEndPoint!).AddressFamily);
        Assert.StartsWith("127.0.0.1:", server.RemoteEndPoint!.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task AcceptAsync_AfterUnbind_ReturnsNull(TransportKind kind)
    {
        await using var harness = await TransportHarness.StartAsync(kind);
        var pending = harness.Listener.AcceptAsync().AsTask();
        await harness.Listener.UnbindAsync().AsTask().WaitAsync(TestIO.Timeout);

        Assert.Null(await pending.WaitAsync(TestIO.Timeout));
        Assert.Null(await harness.Listener.AcceptAsync().AsTask().WaitAsync(TestIO.Timeout));

        var refused = await Assert.ThrowsAsync<SocketException>(() => harness.ConnectionFactory.ConnectAsync(harness.Listener.EndPoint).AsTask().WaitAsync(TestIO.Timeout));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    /// <summary>
    /// Writes 16 KiB chunks until a flush has not completed after 500 ms; returns the bytes written and that
    /// pending flush (null if 64 MiB went through without a stall).
    /// </summary>
    private static async Task<(long Written, Task<FlushResult>? Stalled)> FillUntilStalledAsync(PipeWriter output)
    {
        var chunk = new byte[16 * 1024];
        long written = 0;
        while (written < 64L * 1024 * 1024)
        {
            output.Write(chunk);
            written += chunk.Length;
            var flush = output.FlushAsync().AsTask();
            if (!flush.IsCompleted && await Task.WhenAny(flush, Task.Delay(500)) != flush)
            {
                return (written, flush);
            }

            await flush;
        }

        return (written, null);
    }

    /// <summary>Writes until a flush reports completion (the transport gave up on the connection).</summary>
    private static async Task<bool> WriteUntilCompletedAsync(PipeWriter output)
    {
        var chunk = new byte[4096];
        for (var i = 0; i < 100_000; i++)
        {
            output.Write(chunk);
            var flush = await output.FlushAsync();
            if (flush.IsCompleted)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Loopback TCP autotunes its buffers to several MiB; pin them small so the backpressure bound is about our
    /// pipes, not the kernel.
    /// </summary>
    private static void ShrinkKernelBuffers(ConnectionContext client, ConnectionContext server)
    {
        if (client.Features.Get<IConnectionSocketFeature>() is { } clientSocket)
        {
            clientSocket.Socket.SendBufferSize = 64 * 1024;
        }

        if (server.Features.Get<IConnectionSocketFeature>() is { } serverSocket)
        {
            serverSocket.Socket.ReceiveBufferSize = 64 * 1024;
        }
    }
}
