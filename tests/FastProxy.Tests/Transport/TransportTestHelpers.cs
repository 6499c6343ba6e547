using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FastProxy.Transport.Memory;
using FastProxy.Transport.Sockets;
using Microsoft.AspNetCore.Connections;
using Xunit;

namespace FastProxy.Transport.Tests;

/// <summary>Which transport a conformance test runs against.</summary>
public enum TransportKind
{
    /// <summary>Socket transport with the default options (I/O queues).</summary>
    Sockets,

    /// <summary>Socket transport with <c>IOQueueCount = 0</c> (inline transport scheduling).</summary>
    SocketsInline,

    /// <summary>In-memory transport.</summary>
    Memory,
}

/// <summary>A listener plus a connection factory of one transport, and the connections made through them.</summary>
internal sealed class TransportHarness : IAsyncDisposable
{
    private readonly List<ConnectionContext> _connections = [];

    private TransportHarness(TransportKind kind, IConnectionListenerFactory listenerFactory, IConnectionFactory connectionFactory, IConnectionListener listener)
    {
        Kind = kind;
        ListenerFactory = listenerFactory;
        ConnectionFactory = connectionFactory;
        Listener = listener;
    }

    public TransportKind Kind { get; }

    public IConnectionListenerFactory ListenerFactory { get; }

    public IConnectionFactory ConnectionFactory { get; }

    public IConnectionListener Listener { get; }

    public bool IsSockets => Kind != TransportKind.Memory;

    public static async Task<TransportHarness> StartAsync(TransportKind kind, SocketTransportOptions? options = null)
    {
        IConnectionListenerFactory listenerFactory;
        IConnectionFactory connectionFactory;
        switch (kind)
        {
            case TransportKind.Memory:
                var memory = new MemoryTransport();
                listenerFactory = memory;
                connectionFactory = memory;
                break;
            default:
                options ??= new SocketTransportOptions();
                if (kind == TransportKind.SocketsInline)
                {
                    options.IOQueueCount = 0;
                }

                listenerFactory = new SocketConnectionListenerFactory(options);
                connectionFactory = new SocketConnectionFactory(options);
                break;
        }

        var listener = await listenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0)).AsTask().WaitAsync(TestIO.Timeout);
        return new TransportHarness(kind, listenerFactory, connectionFactory, listener);
    }

    /// <summary>Connects a client and accepts the matching server side.</summary>
    public async Task<(ConnectionContext Client, ConnectionContext Server)> ConnectAsync()
    {
        var accept = Listener.AcceptAsync().AsTask();
        var client = await ConnectionFactory.ConnectAsync(Listener.EndPoint).AsTask().WaitAsync(TestIO.Timeout);
        _connections.Add(client);
        var server = await accept.WaitAsync(TestIO.Timeout);
        Assert.NotNull(server);
        _connections.Add(server);
        return (client, server);
    }

    public async ValueTask DisposeAsync()
    {
        // Abort first: a test may leave a connection whose peer never reads, and DisposeAsync waits for the
        // send loop to drain.
        foreach (var connection in _connections)
        {
            connection.Abort();
        }

        foreach (var connection in _connections)
        {
            await connection.DisposeAsync().AsTask().WaitAsync(TestIO.Timeout);
        }

        await Listener.DisposeAsync().AsTask().WaitAsync(TestIO.Timeout);
    }
}

/// <summary>Pipe and socket helpers for transport tests. Every wait is bounded.</summary>
internal static class TestIO
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static TheoryData<TransportKind> AllTransports =>
        new() { TransportKind.Sockets, TransportKind.SocketsInline, TransportKind.Memory };

    /// <summary>The deterministic test byte at <paramref name="offset"/>; not periodic at 256, so shifted or reordered chunks are caught.</summary>
    public static byte PatternByte(long offset, int seed) => (byte)(offset ^ (offset >> 8) ^ (offset >> 16) ^ seed);

    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = PatternByte(i, seed);
        }

        return data;
    }

    /// <summary>Writes <paramref name="length"/> pattern bytes in chunks, flushing each (honours backpressure).</summary>
    public static async Task WritePatternAsync(PipeWriter output, long length, int seed, int chunkSize = 32 * 1024)
    {
        long offset = 0;
        while (offset < length)
        {
            var size = (int)Math.Min(chunkSize, length - offset);
            var span = output.GetSpan(size)[..size];
            for (var i = 0; i < size; i++)
            {
                span[i] = PatternByte(offset + i, seed);
            }

            output.Advance(size);
            offset += size;
            var flush = await output.FlushAsync();
            if (flush.IsCompleted)
            {
                throw new InvalidOperationException($"The transport stopped accepting data after {offset} bytes.");
            }
        }
    }

    /// <summary>Reads until the writer completes, checking every byte against the pattern; returns the byte count.</summary>
    public static async Task<long> ReadPatternToEndAsync(PipeReader input, int seed)
    {
        long offset = 0;
        while (true)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            foreach (var segment in buffer)
            {
                var span = segment.Span;
                for (var i = 0; i < span.Length; i++)
                {
                    if (span[i] != PatternByte(offset + i, seed))
                    {
                        throw new InvalidDataException($"Byte {offset + i} is {span[i]}, expected {PatternByte(offset + i, seed)}.");
                    }
                }

                offset += span.Length;
            }

            input.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return offset;
            }
        }
    }

    /// <summary>Reads and discards until the writer completes; returns the byte count.</summary>
    public static async Task<long> DrainAsync(PipeReader input)
    {
        long total = 0;
        while (true)
        {
            var result = await input.ReadAsync();
            total += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return total;
            }
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (fails on an early end).</summary>
    public static async Task<byte[]> ReadExactlyAsync(PipeReader input, int count)
    {
        while (true)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            if (buffer.Length >= count)
            {
                var data = buffer.Slice(0, count).ToArray();
                input.AdvanceTo(buffer.GetPosition(count));
                return data;
            }

            if (result.IsCompleted)
            {
                throw new EndOfStreamException($"Got {buffer.Length} of {count} bytes before the end of the stream.");
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Copies input to output until input completes, then completes output (a half-close aware echo).</summary>
    public static async Task EchoAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        while (true)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            var hasData = !buffer.IsEmpty;
            foreach (var segment in buffer)
            {
                output.Write(segment.Span);
            }

            input.AdvanceTo(buffer.End);
            if (hasData)
            {
                var flush = await output.FlushAsync();
                if (flush.IsCompleted)
                {
                    break;
                }
            }

            if (result.IsCompleted)
            {
                break;
            }
        }

        await output.CompleteAsync();
    }

    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None).AsTask().WaitAsync(Timeout);
            data = data[sent..];
        }
    }

    /// <summary>Receives until EOF and returns everything received.</summary>
    public static async Task<byte[]> ReceiveToEndAsync(Socket socket)
    {
        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var count = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(Timeout);
            if (count == 0)
            {
                return received.ToArray();
            }

            received.Write(buffer, 0, count);
        }
    }

    /// <summary>A task that completes when <paramref name="token"/> is cancelled.</summary>
    public static Task WhenCancelled(CancellationToken token)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), tcs);
        return tcs.Task;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the timeout passes.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(10);
        }

        return condition();
    }
}
