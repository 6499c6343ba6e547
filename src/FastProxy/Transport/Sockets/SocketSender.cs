using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// One send operation. Senders are pooled per I/O queue (<see cref="SocketSenderPool"/>) rather than owned by
/// a connection: a connection needs one only while a send is in flight, so an idle connection holds none.
/// </summary>
internal sealed class SocketSender : SocketAwaitableEventArgs
{
    /// <summary>
    /// Most segments gathered into one send. The Unix socket PAL stack-allocates its iovec and GCHandle arrays
    /// for up to 8 buffers and heap-allocates both beyond that (SocketPal.Unix IovStackThreshold), so sending
    /// at most 8 segments per call keeps multi-segment sends allocation-free. With 16 KiB blocks that is
    /// still 128 KiB per syscall; the send loop sends the rest on the next iteration.
    /// </summary>
    internal const int MaxSegmentsPerSend = 8;

    private readonly List<ArraySegment<byte>> _bufferList = new(MaxSegmentsPerSend);

    public SocketSender(PipeScheduler ioScheduler)
        : base(ioScheduler)
    {
    }

    /// <summary>
    /// Sends the first <see cref="MaxSegmentsPerSend"/> segments of <paramref name="buffers"/> (all of it when
    /// it has fewer). On success <see cref="SocketOperationResult.BytesTransferred"/> is the number of bytes
    /// sent; the caller advances the pipe by exactly that.
    /// </summary>
    public ValueTask<SocketOperationResult> SendAsync(Socket socket, in ReadOnlySequence<byte> buffers)
    {
        Debug.Assert(!buffers.IsEmpty);

        if (buffers.IsSingleSegment)
        {
            SetBuffer(MemoryMarshal.AsMemory(buffers.First));
        }
        else
        {
            SetBufferList(buffers);
        }

        bool pending;
        try
        {
            pending = socket.SendAsync(this);
        }
        catch (ObjectDisposedException)
        {
            return new ValueTask<SocketOperationResult>(new SocketOperationResult(SocketError.OperationAborted));
        }

        return pending
            ? new ValueTask<SocketOperationResult>(this, 0)
            : new ValueTask<SocketOperationResult>(SynchronousResult);
    }

    /// <summary>
    /// Clears the buffers before the sender goes back to the pool, so a pooled sender never roots pipe memory
    /// that has been returned (and so the next SetBuffer/BufferList assignment does not throw).
    /// </summary>
    public void Reset()
    {
        if (BufferList is not null)
        {
            BufferList = null;
            _bufferList.Clear();
        }
        else
        {
            SetBuffer(null, 0, 0);
        }
    }

    private void SetBufferList(in ReadOnlySequence<byte> buffers)
    {
        _bufferList.Clear();
        foreach (var segment in buffers)
        {
            if (segment.IsEmpty)
            {
                continue;
            }

            _bufferList.Add(GetArraySegment(segment));
            if (_bufferList.Count == MaxSegmentsPerSend)
            {
                break;
            }
        }

        // The setter copies the list into the event args' internal array (reused while the count fits).
        BufferList = _bufferList;
    }

    private static ArraySegment<byte> GetArraySegment(ReadOnlyMemory<byte> memory)
    {
        if (!MemoryMarshal.TryGetArray(memory, out var segment))
        {
            // Our pool and Pipe's fallback both hand out array-backed memory.
            throw new InvalidOperationException("Socket sends need array-backed memory.");
        }

        return segment;
    }
}
