using System.Buffers;
using System.Net.Sockets;
using FastProxy.Connections;
using FastProxy.Transport.Sockets;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Forwarding;

/// <summary>
/// The fast path between two of our own socket connections: each direction receives into one pooled
/// block and sends it straight out, with no pipe in between. That saves the copy from one pipe into the
/// other, the pipes' bookkeeping and two scheduler hops per chunk. Idle connections still hold no
/// buffer (zero-byte receive first). Used when neither connection's Transport has been touched
/// (no middleware read it); otherwise the forwarder copies between the pipes.
/// </summary>
internal static class SocketRelay
{
    /// <summary>Claims both connections for the relay, or neither.</summary>
    public static bool TryClaim(ConnectionContext client, ConnectionContext upstream, out SocketConnection clientSocket, out SocketConnection upstreamSocket)
    {
        clientSocket = null!;
        upstreamSocket = null!;
        if (client is not SocketConnection c || upstream is not SocketConnection u || !u.TryClaimForRelay())
        {
            return false;
        }

        if (!c.TryClaimForRelay())
        {
            u.ReleaseRelayClaim();
            return false;
        }

        clientSocket = c;
        upstreamSocket = u;
        return true;
    }

    /// <summary>Copies one direction until its sender finishes, then passes the FIN (or the reset) on.</summary>
    public static async Task<CloseReason> CopyAsync(SocketConnection source, SocketConnection destination, ForwardedConnection connection, bool toEndpoint, bool splice)
    {
        var receiver = source.Receiver;
        var smallPool = source.MemoryPool;
        var bulkPool = source.BulkMemoryPool;
        var smallBlock = smallPool.MaxBufferSize;
        var bulk = false;
        var full = false;
        while (true)
        {
            if (full && splice && OperatingSystem.IsLinux())
            {
                // Bulk data: the rest of this direction goes kernel to kernel, if a pipe can be had.
                if (await SpliceRelay.CopyAsync(source, destination, connection, toEndpoint).ConfigureAwait(false) is { } reason)
                {
                    return reason;
                }

                splice = false;
            }

            // After a full block the sender is usually still going: read again at once if the kernel holds more.
            // Otherwise park without a buffer (an idle direction holds no memory) and, on waking, make sure the
            // receive will complete before renting a block for it (see ReceiveWouldComplete).
            if (!full || !SocketReceiver.HasBufferedData(source.Socket))
            {
                var ready = await receiver.WaitForDataAsync(source.Socket);
                if (ready.HasError)
                {
                    return OnReceiveError(ready.Error, destination);
                }

                if (!SocketReceiver.ReceiveWouldComplete(source.Socket))
                {
                    full = false;
                    continue;
                }
            }

            using var block = (bulk ? bulkPool : smallPool).Rent();
            var received = await receiver.ReceiveAsync(source.Socket, block.Memory);
            if (received.HasError)
            {
                return OnReceiveError(received.Error, destination);
            }

            var count = received.BytesTransferred;
            if (count == 0)
            {
                // A FIN becomes a FIN; the other direction keeps flowing.
                ShutdownSend(destination.Socket);
                return CloseReason.EndOfStream;
            }

            connection.AddBytes(toEndpoint, count);
            if (!await SendAllAsync(destination, block.Memory[..count]).ConfigureAwait(false))
            {
                // The receiver is gone: tell the sender with a reset that its data was not delivered.
                source.Abort(new ConnectionAbortedException("The other side of the proxied connection closed."));
                return CloseReason.ReceiverClosed;
            }

            // A full block means the sender is moving bulk data: read the next into a big block. A direction drops
            // back to small blocks once a read would have fit one.
            full = count == block.Memory.Length;
            bulk = full || (bulk && count > smallBlock);
        }
    }

    public static async ValueTask<bool> SendAllAsync(SocketConnection destination, Memory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var sender = destination.SenderPool.Rent();
            var sent = await sender.SendAsync(destination.Socket, new ReadOnlySequence<byte>(data));
            if (sent.HasError)
            {
                // Never pool a sender after an error.
                sender.Dispose();
                destination.Abort(new ConnectionAbortedException("Sending to the proxied connection failed."));
                return false;
            }

            destination.SenderPool.Return(sender);
            data = data[sent.BytesTransferred..];
        }

        return true;
    }

    public static CloseReason OnReceiveError(SocketError error, SocketConnection destination)
    {
        // A reset is passed on as a reset. Our own abort (OperationAborted) means the other direction or
        // shutdown already tore the connection down; aborting the destination too is idempotent.
        destination.Abort(new ConnectionAbortedException($"The other side of the proxied connection failed: {error}."));
        return SocketErrors.IsConnectionReset(error) ? CloseReason.Reset : CloseReason.Aborted;
    }

    public static void ShutdownSend(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Reset or closed meanwhile: the other direction reports it.
        }
    }
}
