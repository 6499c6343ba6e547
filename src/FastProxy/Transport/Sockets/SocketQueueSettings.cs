using System.IO.Pipelines;
using FastProxy.Buffers;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// Everything connections on one I/O queue share: the scheduler, the memory pool, the sender pool and the
/// pipe options built from them. Precomputed once so creating a connection only picks a slot.
/// </summary>
internal sealed class SocketQueueSettings
{
    public SocketQueueSettings(PipeScheduler transportScheduler, PipeScheduler socketScheduler, SocketTransportOptions options)
    {
        TransportScheduler = transportScheduler;
        SocketScheduler = socketScheduler;
        MemoryPool = new PinnedBlockMemoryPool(options.BlockSize);
        SenderPool = new SocketSenderPool(socketScheduler);

        // Application continuations (the app's ReadAsync on Input, FlushAsync on Output) go to the thread
        // pool: application code may block, and it must never block an I/O queue that other connections share.
        var applicationScheduler = PipeScheduler.ThreadPool;

        // minimumSegmentSize = block size: every segment is one whole pool block.
        InputOptions = new PipeOptions(
            MemoryPool,
            readerScheduler: applicationScheduler,
            writerScheduler: transportScheduler,
            pauseWriterThreshold: options.MaxReadBufferSize,
            resumeWriterThreshold: options.MaxReadBufferSize / 2,
            minimumSegmentSize: options.BlockSize,
            useSynchronizationContext: false);
        OutputOptions = new PipeOptions(
            MemoryPool,
            readerScheduler: transportScheduler,
            writerScheduler: applicationScheduler,
            pauseWriterThreshold: options.MaxWriteBufferSize,
            resumeWriterThreshold: options.MaxWriteBufferSize / 2,
            minimumSegmentSize: options.BlockSize,
            useSynchronizationContext: false);
    }

    /// <summary>Runs the transport side of the pipes (send loop wake-ups, receive loop resumes).</summary>
    public PipeScheduler TransportScheduler { get; }

    /// <summary>Runs continuations of socket operations (see <see cref="SocketConnectionContextFactory"/>).</summary>
    public PipeScheduler SocketScheduler { get; }

    public PinnedBlockMemoryPool MemoryPool { get; }

    public SocketSenderPool SenderPool { get; }

    public PipeOptions InputOptions { get; }

    public PipeOptions OutputOptions { get; }
}
