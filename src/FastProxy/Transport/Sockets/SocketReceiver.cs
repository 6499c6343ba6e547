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

    /// <summary>
    /// Whether a receive would complete now (data, FIN or error). The runtime's zero-byte receive sometimes
    /// completes with nothing to read (seen after bulk transfers while the socket also sends); renting a block
    /// then would park a pending receive on it and pin a block per idle connection. FIONREAD answers the
    /// common case in one call; only when it says 0 does a poll tell a FIN or error from a spurious wake-up.
    /// </summary>
    public static bool ReceiveWouldComplete(Socket socket) => Probe(socket, orReadable: true);

    /// <summary>Whether the kernel holds received bytes for <paramref name="socket"/> (FIONREAD; true when it cannot tell).</summary>
    public static bool HasBufferedData(Socket socket) => Probe(socket, orReadable: false);

    private static bool Probe(Socket socket, bool orReadable)
    {
        try
        {
            return socket.Available > 0 || (orReadable && socket.Poll(0, SelectMode.SelectRead));
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Closed or failed: the receive reports it.
            return true;
        }
    }
}
