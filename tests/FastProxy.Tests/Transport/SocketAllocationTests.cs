using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using FastProxy.Transport.Sockets;
using Microsoft.AspNetCore.Connections;
using Xunit;
using Xunit.Abstractions;

namespace FastProxy.Transport.Tests;

/// <summary>Runs alone: it measures process-wide allocations, so nothing else may run at the same time.</summary>
[CollectionDefinition(nameof(SerialTransportTests), DisableParallelization = true)]
public sealed class SerialTransportTests
{
}

[Collection(nameof(SerialTransportTests))]
public sealed class SocketAllocationTests
{
    private const int ChunkSize = 4096;
    private const int WarmupChunks = 2_000;
    private const int MeasuredChunks = 10_000;

    private readonly ITestOutputHelper _output;

    public SocketAllocationTests(ITestOutputHelper output)
    {
        _output = output;
    }

    /// <summary>
    /// Ping-pong through an echo over loopback: per chunk that is two sends, two receives (plus zero-byte
    /// waits) and four pipe hand-offs. <c>GC.GetAllocatedBytesForCurrentThread</c> misses allocations on the
    /// other threads that async I/O hops through, so this measures process-wide allocations instead.
    /// </summary>
    [Theory]
    [InlineData(16)]
    [InlineData(0)]
    public async Task EchoPingPong_SteadyState_AllocatesAlmostNothingPerChunk(int ioQueueCount)
    {
        var options = new SocketTransportOptions { IOQueueCount = ioQueueCount };
        var listenerFactory = new SocketConnectionListenerFactory(options);
        var connectionFactory = new SocketConnectionFactory(options);
        await using var listener = await listenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await connectionFactory.ConnectAsync(listener.EndPoint).AsTask().WaitAsync(TestIO.Timeout);
        await using var server = (await accept.WaitAsync(TestIO.Timeout))!;
        var echo = TestIO.EchoAsync(server);

        var chunk = TestIO.Pattern(ChunkSize, seed: 5);
        await PingPongAsync(client, chunk, WarmupChunks).WaitAsync(TestIO.Timeout);

        var pools = new PoolGrowth(listenerFactory, connectionFactory);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await PingPongAsync(client, chunk, MeasuredChunks).WaitAsync(TestIO.Timeout);
        var after = GC.GetTotalAllocatedBytes(precise: true);

        var perChunk = pools.PerChunk(after - before, MeasuredChunks, out var report);
        _output.WriteLine($"IOQueueCount={ioQueueCount}, {MeasuredChunks} round trips of {ChunkSize} bytes: {report}");
        Assert.True(perChunk < 64, report);

        await client.Transport.Output.CompleteAsync();
        await echo.WaitAsync(TestIO.Timeout);
    }

    /// <summary>
    /// Bulk streaming through an echo with both directions busy: the output pipe accumulates several blocks, so
    /// this covers multi-segment (gathered) sends and backpressure pauses/resumes, which ping-pong does not.
    /// </summary>
    [Fact]
    public async Task EchoStreaming_SteadyState_AllocatesAlmostNothingPerChunk()
    {
        const int StreamChunk = 16 * 1024;
        var listenerFactory = new SocketConnectionListenerFactory();
        var connectionFactory = new SocketConnectionFactory();
        await using var listener = await listenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await connectionFactory.ConnectAsync(listener.EndPoint).AsTask().WaitAsync(TestIO.Timeout);
        await using var server = (await accept.WaitAsync(TestIO.Timeout))!;
        var echo = TestIO.EchoAsync(server);
        var chunk = TestIO.Pattern(StreamChunk, seed: 6);

        await StreamAsync(client, chunk, WarmupChunks).WaitAsync(TestIO.Timeout);

        var pools = new PoolGrowth(listenerFactory, connectionFactory);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await StreamAsync(client, chunk, MeasuredChunks).WaitAsync(TestIO.Timeout);
        var after = GC.GetTotalAllocatedBytes(precise: true);

        var perChunk = pools.PerChunk(after - before, MeasuredChunks, out var report);
        _output.WriteLine($"Streaming {MeasuredChunks} chunks of {StreamChunk} bytes each way: {report}");
        Assert.True(perChunk < 64, report);

        await client.Transport.Output.CompleteAsync();
        await echo.WaitAsync(TestIO.Timeout);
    }

    /// <summary>Writes <paramref name="count"/> chunks while reading the echo concurrently; two tasks, started once.</summary>
    private static async Task StreamAsync(ConnectionContext client, byte[] chunk, int count)
    {
        var total = (long)chunk.Length * count;
        var write = WriteChunksAsync(client.Transport.Output, chunk, count);
        var input = client.Transport.Input;
        long received = 0;
        while (received < total)
        {
            var result = await input.ReadAsync();
            var take = Math.Min(total - received, result.Buffer.Length);
            received += take;
            input.AdvanceTo(result.Buffer.GetPosition(take));
            if (result.IsCompleted && received < total)
            {
                throw new EndOfStreamException();
            }
        }

        await write;
    }

    private static async Task WriteChunksAsync(PipeWriter output, byte[] chunk, int count)
    {
        for (var i = 0; i < count; i++)
        {
            output.Write(chunk);
            var flush = await output.FlushAsync();
            Assert.False(flush.IsCompleted);
        }
    }

    /// <summary>
    /// Separates pool growth from per-operation allocations: when a run needs more blocks in flight than the
    /// warm-up did, the pool allocates new pinned blocks (block + header + block object). That is the pool
    /// reaching a new high-water mark, not a per-receive/send cost, so it is reported and subtracted.
    /// </summary>
    private sealed class PoolGrowth
    {
        // Array header and length, plus the PinnedMemoryPoolBlock object and its queue slot: generous on purpose.
        private const int PerBlockOverhead = 128;

        private readonly SocketConnectionListenerFactory _listenerFactory;
        private readonly SocketConnectionFactory _connectionFactory;
        private readonly long _blocksBefore;

        public PoolGrowth(SocketConnectionListenerFactory listenerFactory, SocketConnectionFactory connectionFactory)
        {
            _listenerFactory = listenerFactory;
            _connectionFactory = connectionFactory;
            _blocksBefore = BlockCount;
        }

        private long BlockCount => _listenerFactory.AllocatedBlockCount + _connectionFactory.AllocatedBlockCount;

        public double PerChunk(long allocated, int chunks, out string report)
        {
            var newBlocks = BlockCount - _blocksBefore;
            var growthBytes = newBlocks * (new SocketTransportOptions().BlockSize + PerBlockOverhead);
            var perChunk = Math.Max(0, allocated - growthBytes) / (double)chunks;
            report = $"{allocated} bytes allocated, of which pool growth {newBlocks} blocks (<= {growthBytes} bytes); {perChunk:F2} bytes per chunk otherwise";
            return perChunk;
        }
    }

    /// <summary>Writes a chunk, waits for its echo, repeats. Allocation-free apart from its own state machine.</summary>
    private static async Task PingPongAsync(ConnectionContext client, byte[] chunk, int count)
    {
        var input = client.Transport.Input;
        var output = client.Transport.Output;
        for (var i = 0; i < count; i++)
        {
            output.Write(chunk);
            var flush = await output.FlushAsync();
            Assert.False(flush.IsCompleted);

            var remaining = chunk.Length;
            while (remaining > 0)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                var take = Math.Min(remaining, buffer.Length);
                remaining -= (int)take;
                input.AdvanceTo(buffer.GetPosition(take));
                if (result.IsCompleted && remaining > 0)
                {
                    throw new EndOfStreamException();
                }
            }
        }
    }
}
