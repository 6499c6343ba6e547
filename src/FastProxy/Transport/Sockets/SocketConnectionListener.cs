using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastProxy.Transport.Sockets;

/// <summary>A bound, listening TCP socket; <see cref="AcceptAsync"/> returns null once unbound.</summary>
internal sealed class SocketConnectionListener : IConnectionListener
{
    private readonly Socket _listenSocket;
    private readonly SocketConnectionContextFactory _contextFactory;
    private readonly bool _noDelay;
    private readonly ILogger _logger;
    private volatile bool _unbound;

    public SocketConnectionListener(Socket listenSocket, SocketConnectionContextFactory contextFactory, bool noDelay, ILogger logger)
    {
        _listenSocket = listenSocket;
        _contextFactory = contextFactory;
        _noDelay = noDelay;
        _logger = logger;

        // The bound address, with the real port when port 0 was requested.
        EndPoint = listenSocket.LocalEndPoint!;
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket acceptSocket;
            try
            {
                acceptSocket = await _listenSocket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
            catch (SocketException) when (_unbound)
            {
                // Unbind/Dispose closed the socket under the pending accept (OperationAborted, or EINVAL on
                // some Unix flavours).
                return null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return null;
            }
            catch (SocketException ex)
            {
                // The client reset while its connection waited in the backlog; take the next one.
                SocketsLog.AcceptReset(_logger, EndPoint, ex);
                continue;
            }

            if (_noDelay)
            {
                try
                {
                    acceptSocket.NoDelay = true;
                }
                catch (SocketException)
                {
                    // Already reset by the peer; the connection's receive loop will report it.
                }
            }

            return _contextFactory.Create(acceptSocket);
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound = true;
        _listenSocket.Dispose();
        return default;
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
