using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// A pooled connect operation. <see cref="Socket.ConnectAsync(EndPoint, CancellationToken)"/> caches the event
/// args it used on the socket for the socket's whole life (about 300 bytes per upstream connection that never
/// connects again); connecting through a pooled instance instead leaves nothing behind on the socket.
/// </summary>
internal sealed class SocketConnector : SocketAwaitableEventArgs
{
    private static readonly Action<object?> s_cancel = static state => Socket.CancelConnectAsync((SocketConnector)state!);

    private SocketConnector()
        // The continuation only wraps the socket into a connection; on Windows it must leave the IOCP thread.
        : base(OperatingSystem.IsWindows() ? PipeScheduler.ThreadPool : PipeScheduler.Inline)
    {
    }

    /// <summary>
    /// Connects <paramref name="socket"/> to <paramref name="endPoint"/>. Cancelling aborts the attempt, which then
    /// reports <see cref="SocketError.OperationAborted"/>.
    /// </summary>
    public static async ValueTask<SocketError> ConnectAsync(ConcurrentQueue<SocketConnector> pool, Socket socket, IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        if (!pool.TryDequeue(out var connector))
        {
            connector = new SocketConnector();
        }

        connector.RemoteEndPoint = endPoint;
        SocketOperationResult result;
        bool pending;
        try
        {
            pending = socket.ConnectAsync(connector);
        }
        catch
        {
            // The socket refused to start (e.g. disposed): do not trust the instance's state for reuse.
            connector.Dispose();
            throw;
        }

        if (pending)
        {
            await using (cancellationToken.UnsafeRegister(s_cancel, connector).ConfigureAwait(false))
            {
                result = await new ValueTask<SocketOperationResult>(connector, 0).ConfigureAwait(false);
            }
        }
        else
        {
            result = connector.SynchronousResult;
        }

        // Completed (and the cancellation registration is gone): no callback can touch it any more.
        connector.RemoteEndPoint = null;
        pool.Enqueue(connector);
        return result.Error;
    }
}
