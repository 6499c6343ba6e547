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
        BulkMemoryPool = new PinnedBlockMemoryPool(Math.Max(options.BlockSize, BulkBlockSize));
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

    /// <summary>
    /// Bigger blocks for relay directions that are moving bulk data (their last receive filled a whole block).
    /// One <c>recv</c> can then return what the sender wrote in one go: iperf3 through the relay went from
    /// 7.6 to 13.2 Gbit/s on one core with 64 KiB instead of 16 KiB, before splice (docs/performance.md). Request/response
    /// traffic never fills a block, so it keeps using the small ones and pins less per in-flight message.
    /// </summary>
    public PinnedBlockMemoryPool BulkMemoryPool { get; }

    /// <summary>The size of <see cref="BulkMemoryPool"/>'s blocks (unless <see cref="SocketTransportOptions.BlockSize"/> is bigger).</summary>
    public const int BulkBlockSize = 64 * 1024;

    public SocketSenderPool SenderPool { get; }

    public PipeOptions InputOptions { get; }

    public PipeOptions OutputOptions { get; }
}
