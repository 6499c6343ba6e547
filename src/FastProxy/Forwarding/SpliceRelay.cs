using System.Net.Sockets;
using System.Runtime.Versioning;
using FastProxy.Connections;
using FastProxy.Transport.Epoll;
using FastProxy.Transport.Sockets;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Forwarding;

/// <summary>
/// Zero-copy forwarding for a relay direction that is moving bulk data (Linux): <c>splice(2)</c> from the source
/// socket into a kernel pipe and from the pipe into the destination socket, so the bytes never enter user space.
/// When the destination cannot take more, the pipe is drained through a pooled block and an ordinary async send,
/// which is what waits for the receiver: backpressure stays the kernel's, and no more than one pipe of data is
/// in flight per direction.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class SpliceRelay
{
    /// <summary>Pipe capacity asked for; one splice moves at most this much.</summary>
    internal const int PipeSize = 256 * 1024;

    /// <summary>
    /// Forwards the rest of the direction through a pipe. Returns null when no pipe could be made (the caller
    /// goes on copying), otherwise why the direction ended.
    /// </summary>
    public static async Task<CloseReason?> CopyAsync(SocketConnection source, SocketConnection destination, ForwardedConnection connection, bool toEndpoint)
    {
        if (!LinuxSplice.TryCreatePipe(PipeSize, out var pipeRead, out var pipeWrite))
        {
            return null;
        }

        try
        {
            var receiver = source.Receiver;
            while (true)
            {
                if (!SocketReceiver.HasBufferedData(source.Socket))
                {
                    var ready = await receiver.WaitForDataAsync(source.Socket);
                    if (ready.HasError)
                    {
                        return SocketRelay.OnReceiveError(ready.Error, destination);
                    }
                }

                var moved = SpliceSocket(source.Socket, pipeWrite, toSocket: false);
                if (moved == -LinuxEpoll.WouldBlock)
                {
                    // A spurious wake-up: nothing to read after all.
                    continue;
                }

                if (moved < 0)
                {
                    return SocketRelay.OnReceiveError(LinuxEpoll.ToSocketError((int)-moved), destination);
                }

                if (moved == 0)
                {
                    // A FIN becomes a FIN; the other direction keeps flowing.
                    SocketRelay.ShutdownSend(destination.Socket);
                    return CloseReason.EndOfStream;
                }

                connection.AddBytes(toEndpoint, moved);
                if (!await DrainAsync(pipeRead, (int)moved, destination).ConfigureAwait(false))
                {
                    source.Abort(new ConnectionAbortedException("The other side of the proxied connection closed."));
                    return CloseReason.ReceiverClosed;
                }
            }
        }
        finally
        {
            LinuxSplice.Close(pipeRead);
            LinuxSplice.Close(pipeWrite);
        }
    }

    /// <summary>Moves <paramref name="pending"/> bytes from the pipe to the destination; false when it is gone.</summary>
    private static async ValueTask<bool> DrainAsync(int pipeRead, int pending, SocketConnection destination)
    {
        while (pending > 0)
        {
            var moved = SpliceSocket(destination.Socket, pipeRead, toSocket: true);
            if (moved > 0)
            {
                pending -= (int)moved;
                continue;
            }

            if (moved != -LinuxEpoll.WouldBlock)
            {
                destination.Abort(new ConnectionAbortedException($"Sending to the proxied connection failed: {LinuxEpoll.ToSocketError((int)-moved)}."));
                return false;
            }

            // The receiver is slow: its send buffer is full. Move one block's worth through user space with an
            // async send, which parks until the receiver makes room.
            using var block = destination.BulkMemoryPool.Rent();
            var read = LinuxSplice.Read(pipeRead, block.Memory.Span[..Math.Min(pending, block.Memory.Length)]);
            if (read <= 0)
            {
                // Cannot happen while the pipe holds bytes; end the connection rather than lose data silently.
                destination.Abort(new ConnectionAbortedException("Reading the splice pipe failed."));
                return false;
            }

            if (!await SocketRelay.SendAllAsync(destination, block.Memory[..(int)read]).ConfigureAwait(false))
            {
                return false;
            }

            pending -= (int)read;
        }

        return true;
    }

    /// <summary>One non-blocking splice between a socket and the pipe, holding the socket's handle meanwhile.</summary>
    private static long SpliceSocket(Socket socket, int pipeFd, bool toSocket)
    {
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            // The reference keeps the descriptor from being closed (and its number reused) during the call.
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            return toSocket ? LinuxSplice.Move(pipeFd, fd, PipeSize) : LinuxSplice.Move(fd, pipeFd, PipeSize);
        }
        catch (ObjectDisposedException)
        {
            return -LinuxEpoll.BadDescriptor;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
