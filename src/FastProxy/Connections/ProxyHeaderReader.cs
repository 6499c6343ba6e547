using System.Buffers;
using System.Net.Sockets;
using FastProxy.Transport.Sockets;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Connections;

/// <summary>
/// Reads a PROXY protocol header off a new client connection, taking exactly the header's bytes and leaving
/// everything after it for forwarding. On our socket transport it reads the raw socket (peek, then take what
/// is known to be header), so the connection can still use the pipe-less relay; on any other transport it
/// reads <see cref="ConnectionContext.Transport"/>.
/// </summary>
internal static class ProxyHeaderReader
{
    /// <summary>Reads the header; a timeout or shutdown surfaces as <see cref="OperationCanceledException"/>.</summary>
    public static async ValueTask<(ProxyHeaderStatus Status, ProxyHeader Header, string? Error)> ReadAsync(ConnectionContext connection, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ProxyHeaderParser.MaxLength);
        try
        {
            if (connection is SocketConnection socketConnection && socketConnection.TryClaimForRelay())
            {
                try
                {
                    return await ReadSocketAsync(socketConnection.Socket, buffer, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    // Handed back untouched, but for the header's bytes: the forwarder claims it again.
                    socketConnection.ReleaseRelayClaim();
                }
            }

            return await ReadPipeAsync(connection, buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async ValueTask<(ProxyHeaderStatus, ProxyHeader, string?)> ReadSocketAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var have = 0;
        while (true)
        {
            // Peek, so bytes after the header stay in the socket for the relay.
            var peeked = await socket.ReceiveAsync(buffer.AsMemory(have, ProxyHeaderParser.MaxLength - have), SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
            if (peeked == 0)
            {
                return (ProxyHeaderStatus.Invalid, default, "the client closed the connection before the header was complete");
            }

            var status = ProxyHeaderParser.TryParse(buffer.AsSpan(0, have + peeked), out var header, out var length, out var error);
            switch (status)
            {
                case ProxyHeaderStatus.Complete:
                    await TakeAsync(socket, buffer.AsMemory(have, length - have), cancellationToken).ConfigureAwait(false);
                    return (status, header, null);
                case ProxyHeaderStatus.Invalid:
                    return (status, header, error);
            }

            // Everything peeked can only be header: take it, so the next peek waits for new bytes instead of
            // returning the same ones again.
            await TakeAsync(socket, buffer.AsMemory(have, peeked), cancellationToken).ConfigureAwait(false);
            have += peeked;
            if (have >= ProxyHeaderParser.MaxLength)
            {
                return (ProxyHeaderStatus.Invalid, default, "the header is longer than the limit");
            }
        }
    }

    /// <summary>Receives exactly <paramref name="into"/>'s length: bytes a peek already saw, so this does not wait on the client.</summary>
    private static async ValueTask TakeAsync(Socket socket, Memory<byte> into, CancellationToken cancellationToken)
    {
        while (!into.IsEmpty)
        {
            var read = await socket.ReceiveAsync(into, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            into = into[read..];
        }
    }

    private static async ValueTask<(ProxyHeaderStatus, ProxyHeader, string?)> ReadPipeAsync(ConnectionContext connection, byte[] buffer, CancellationToken cancellationToken)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var data = result.Buffer;
            var window = data.Slice(0, Math.Min(data.Length, ProxyHeaderParser.MaxLength));
            window.CopyTo(buffer);
            var status = ProxyHeaderParser.TryParse(buffer.AsSpan(0, (int)window.Length), out var header, out var length, out var error);
            if (status == ProxyHeaderStatus.Complete)
            {
                input.AdvanceTo(data.GetPosition(length));
                return (status, header, null);
            }

            input.AdvanceTo(data.Start, data.End);
            if (status == ProxyHeaderStatus.Invalid)
            {
                return (status, header, error);
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return (ProxyHeaderStatus.Invalid, default, "the client closed the connection before the header was complete");
            }
        }
    }
}
