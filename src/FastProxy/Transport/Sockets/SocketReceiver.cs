using System.IO.Pipelines;
using System.Net.Sockets;

namespace FastProxy.Transport.Sockets;

/// <summary>The receive half of a connection: one instance per connection, reused for every receive.</summary>
internal sealed class SocketReceiver : SocketAwaitableEventArgs
{
    public SocketReceiver(PipeScheduler ioScheduler)
        : base(ioScheduler)
    {
    }

    /// <summary>
    /// A zero-byte receive: completes when data (or FIN, or an error) is available, without holding a buffer
    /// while the connection is idle.
    /// </summary>
    public ValueTask<SocketOperationResult> WaitForDataAsync(Socket socket) => ReceiveAsync(socket, Memory<byte>.Empty);

    public ValueTask<SocketOperationResult> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        SetBuffer(buffer);
        bool pending;
        try
        {
            pending = socket.ReceiveAsync(this);
        }
        catch (ObjectDisposedException)
        {
            // The connection was closed between the loop's last check and this call.
            return new ValueTask<SocketOperationResult>(new SocketOperationResult(SocketError.OperationAborted));
        }

        return pending
            ? new ValueTask<SocketOperationResult>(this, 0)
            : new ValueTask<SocketOperationResult>(SynchronousResult);
    }
}
