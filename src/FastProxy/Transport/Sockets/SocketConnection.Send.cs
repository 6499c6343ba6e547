using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastProxy.Transport.Sockets;

internal sealed partial class SocketConnection
{
    /// <summary>
    /// <c>Transport.Output</c> to socket. Ends when the application completes Output (flush everything, then
    /// FIN), when it completes Output with an exception (abort: RST), on a send error, or when Close() cancels
    /// the pending read.
    /// </summary>
    private async Task DoSendAsync()
    {
        try
        {
            var output = _outputReader!;
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await output.ReadAsync();
                }
                catch (Exception ex)
                {
                    // The application completed Output with an exception. It wants the connection torn down,
                    // and a proxy must pass that on as a reset, not as an orderly end of stream.
                    Abort(new ConnectionAbortedException("The application completed the transport output with an error.", ex));
                    break;
                }

                if (result.IsCanceled)
                {
                    // Only Close() cancels this reader; _closeReason says why.
                    break;
                }

                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    var sender = _senderPool.Rent();
                    var sendResult = await sender.SendAsync(_socket, buffer);
                    if (sendResult.HasError)
                    {
                        // Never pool a sender after an error (its operation may have been cut short by a close).
                        sender.Dispose();
                        output.AdvanceTo(buffer.Start, buffer.End);
                        OnSendError(sendResult.Error);
                        break;
                    }

                    _senderPool.Return(sender);

                    var sent = sendResult.BytesTransferred;
                    Debug.Assert(sent > 0);
                    if (sent < buffer.Length)
                    {
                        // The sender caps segments per call; the rest (and IsCompleted, if set) comes back with
                        // the next read, immediately.
                        output.AdvanceTo(buffer.GetPosition(sent));
                        continue;
                    }
                }

                output.AdvanceTo(buffer.End);

                if (result.IsCompleted)
                {
                    // The application completed Output without an error and everything it wrote is in the kernel:
                    // half-close. Only the send side is shut down; receiving goes on.
                    ShutdownSend();
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            SocketsLog.ConnectionUnexpectedError(_logger, ConnectionId, ex);
            Close(ex, abortive: true);
        }
        finally
        {
            // The application's flushes now return IsCompleted: nothing more will be sent.
            _outputReader!.Complete();
            OnLoopEnded();
        }
    }

    private void ShutdownSend()
    {
        try
        {
            // FIN after the queued data. Do NOT use SocketShutdown.Both: that would also discard what the
            // peer is still sending us.
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The peer reset in the meantime; the receive loop reports it.
            return;
        }
        catch (ObjectDisposedException)
        {
            // Closed under us by Abort or Dispose.
            return;
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            SocketsLog.ConnectionWriteFin(_logger, ConnectionId);
        }
    }

    private void OnSendError(SocketError socketError)
    {
        if (_socketClosed && SocketErrors.IsLocalAbort(socketError))
        {
            return;
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            if (SocketErrors.IsConnectionReset(socketError))
            {
                SocketsLog.ConnectionReset(_logger, ConnectionId, socketError);
            }
            else
            {
                SocketsLog.ConnectionError(_logger, ConnectionId, socketError);
            }
        }

        // A failed send (EPIPE/ECONNRESET) means the connection is gone in both directions; Input will fault
        // with this exception unless the receive loop already ended.
        Close(SocketErrors.ToException(socketError), abortive: false);
    }
}
