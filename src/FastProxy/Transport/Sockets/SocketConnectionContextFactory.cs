using System.Net;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// Wraps connected sockets into <see cref="SocketConnection"/>s, spreading them round-robin over the I/O
/// queues (Kestrel's <c>SocketConnectionContextFactory</c>). One instance per listener factory and per
/// connection factory; all listeners of a factory share its queues and pools.
/// </summary>
internal sealed class SocketConnectionContextFactory
{
    private readonly SocketQueueSettings[] _settings;
    private readonly bool _waitForData;
    private readonly ILogger _logger;
    private long _nextQueue = -1;

    public SocketConnectionContextFactory(SocketTransportOptions options, ILogger logger)
    {
        _waitForData = options.WaitForDataBeforeAllocatingBuffer;
        _logger = logger;

        if (options.IOQueueCount > 0)
        {
            _settings = new SocketQueueSettings[options.IOQueueCount];
            for (var i = 0; i < _settings.Length; i++)
            {
                var queue = new IOQueue();

                // On Unix the socket engine already completes operations on thread-pool threads, so socket
                // continuations run inline there; hopping again to the I/O queue would only add latency
                // (https://github.com/aspnet/KestrelHttpServer/issues/2573). On Windows completions arrive on
                // IOCP threads, which must not run application-visible work.
                var socketScheduler = OperatingSystem.IsWindows() ? queue : PipeScheduler.Inline;
                _settings[i] = new SocketQueueSettings(queue, socketScheduler, options);
            }
        }
        else
        {
            // IOQueueCount = 0: transport continuations inline, one shared pool.
            _settings = [new SocketQueueSettings(PipeScheduler.Inline, PipeScheduler.Inline, options)];
        }
    }

    /// <summary>Pool blocks rented across all queues; 0 when every connection is idle (zero-byte reads).</summary>
    internal long RentedBlockCount
    {
        get
        {
            long total = 0;
            foreach (var settings in _settings)
            {
                total += settings.MemoryPool.RentedBlockCount + settings.BulkMemoryPool.RentedBlockCount;
            }

            return total;
        }
    }

    /// <summary>Pool blocks ever allocated across all queues (pool growth; tests separate it from per-operation allocations).</summary>
    internal long AllocatedBlockCount
    {
        get
        {
            long total = 0;
            foreach (var settings in _settings)
            {
                total += settings.MemoryPool.AllocatedBlockCount + settings.BulkMemoryPool.AllocatedBlockCount;
            }

            return total;
        }
    }

    /// <summary>Takes ownership of a connected socket. Its loops start when its Transport is first used.</summary>
    /// <summary>Wraps a connected socket; <paramref name="remoteEndPoint"/> for one the runtime did not connect (it does not know its peer).</summary>
    public SocketConnection Create(Socket socket, EndPoint? remoteEndPoint = null)
    {
        var index = (ulong)Interlocked.Increment(ref _nextQueue) % (ulong)_settings.Length;
        return new SocketConnection(socket, _settings[index], _waitForData, _logger, remoteEndPoint);
    }
}
