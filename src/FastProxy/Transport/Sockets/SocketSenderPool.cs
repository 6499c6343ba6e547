using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// A pool of <see cref="SocketSender"/>s, one per I/O queue (Kestrel's <c>SocketSenderPool</c>). Only senders
/// that completed successfully come back; a sender that saw an error is disposed, because its state after a
/// failed or aborted operation is not worth reasoning about.
/// </summary>
internal sealed class SocketSenderPool : IDisposable
{
    // Bounds what an idle pool keeps after a burst of concurrent sends.
    private const int MaxQueueSize = 1024;

    private readonly ConcurrentQueue<SocketSender> _queue = new();
    private readonly PipeScheduler _scheduler;

    // Approximate queue length; ConcurrentQueue.Count is O(segments) and takes locks.
    private int _count;
    private volatile bool _disposed;

    public SocketSenderPool(PipeScheduler scheduler)
    {
        _scheduler = scheduler;
    }

    public SocketSender Rent()
    {
        if (_queue.TryDequeue(out var sender))
        {
            Interlocked.Decrement(ref _count);
            return sender;
        }

        return new SocketSender(_scheduler);
    }

    public void Return(SocketSender sender)
    {
        if (_disposed || Interlocked.Increment(ref _count) > MaxQueueSize)
        {
            if (!_disposed)
            {
                Interlocked.Decrement(ref _count);
            }

            sender.Dispose();
            return;
        }

        sender.Reset();
        _queue.Enqueue(sender);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        while (_queue.TryDequeue(out var sender))
        {
            sender.Dispose();
        }
    }
}
