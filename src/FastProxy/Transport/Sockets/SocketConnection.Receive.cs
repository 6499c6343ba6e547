using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace FastProxy.Transport.Sockets;

internal sealed partial class SocketConnection
{
    /// <summary>
    /// Socket to <c>Transport.Input</c>. Ends on FIN (Input completes cleanly), on an error (Input faults;
    /// ConnectionResetException for a reset), or when the application completed Input (it stopped reading).
    /// </summary>
    private async Task DoReceiveAsync()
    {
        Exception? error = null;
        try
        {
            var input = _inputWriter!;
            while (true)
            {
                SocketOperationResult result;
                if (_waitForData)
                {
                    // Park on a zero-byte receive so an idle connection holds no pool block.
                    result = await Receiver.WaitForDataAsync(_socket);
                    if (result.HasError)
                    {
                        error = OnReceiveError(result.Error);
                        break;
                    }

                    if (!SocketReceiver.ReceiveWouldComplete(_socket))
                    {
                        continue;
                    }
                }

                var buffer = input.GetMemory(_minAllocBufferSize);
                result = await Receiver.ReceiveAsync(_socket, buffer);
                if (result.HasError)
                {
                    error = OnReceiveError(result.Error);
                    break;
                }

                if (result.BytesTransferred == 0)
                {
                    // FIN: the peer will send nothing more. The send direction stays open (half-close).
                    if (_logger.IsEnabled(LogLevel.Debug))
                    {
                        SocketsLog.ConnectionReadFin(_logger, ConnectionId);
                    }

                    break;
                }

                input.Advance(result.BytesTransferred);

                // Backpressure: this does not complete while the application is MaxReadBufferSize behind.
                var flush = await input.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    // Completed: the application stopped reading. Canceled: Close() is tearing us down.
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            // A bug rather than a network condition; tear the connection down so nothing hangs on it.
            SocketsLog.ConnectionUnexpectedError(_logger, ConnectionId, ex);
            error = ex;
            Close(ex, abortive: true);
        }
        finally
        {
            // When we closed the socket ourselves, the close reason explains why receiving stopped better than
            // the OperationAborted it caused.
            _inputWriter!.Complete(_closeReason ?? error);
            OnLoopEnded();
        }
    }

    /// <summary>Turns a receive error into the exception Input completes with, and closes the connection.</summary>
    private Exception? OnReceiveError(SocketError socketError)
    {
        if (_socketClosed && SocketErrors.IsLocalAbort(socketError))
        {
            // Our own Abort/Dispose: _closeReason already says why.
            return null;
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

        // After a reset (or any hard error) nothing can be sent either: close now, so the send loop stops and
        // the application's flushes report completion instead of waiting for a write to fail.
        var exception = SocketErrors.ToException(socketError);
        Close(exception, abortive: false);
        return exception;
    }
}
