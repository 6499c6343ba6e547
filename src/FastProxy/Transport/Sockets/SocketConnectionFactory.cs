using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using FastProxy.Transport.Epoll;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// Opens outgoing TCP connections with the same half-close and reset semantics as the connections of
/// <see cref="SocketConnectionListenerFactory"/> (see its remarks for the contract of Input, Output, Abort and
/// DisposeAsync).
/// </summary>
/// <remarks>
/// All connections of one factory share its I/O queues, memory pools and sender pools. Connections expose
/// <see cref="Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature"/>.
/// </remarks>
public sealed class SocketConnectionFactory : IConnectionFactory
{
    private readonly SocketTransportOptions _options;
    private readonly SocketConnectionContextFactory _contextFactory;
    private readonly ConcurrentQueue<SocketConnector> _connectors = new();

    /// <summary>Creates a connection factory.</summary>
    /// <param name="options">Transport options; <see langword="null"/> uses the defaults. The values are copied.
    /// <see cref="SocketTransportOptions.Backlog"/> and <see cref="SocketTransportOptions.ReusePort"/> do not apply.</param>
    /// <param name="loggerFactory">Logger factory for transport diagnostics; <see langword="null"/> disables logging.</param>
    public SocketConnectionFactory(SocketTransportOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _options = (options ?? new SocketTransportOptions()).Snapshot();
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("FastProxy.Transport.Sockets");
        _contextFactory = new SocketConnectionContextFactory(_options, logger);
    }

    /// <summary>Pool blocks currently rented by this factory's connections (tests: idle connections hold none).</summary>
    internal long RentedBlockCount => _contextFactory.RentedBlockCount;

    /// <summary>Pool blocks this factory has ever allocated (pool growth).</summary>
    internal long AllocatedBlockCount => _contextFactory.AllocatedBlockCount;

    /// <summary>
    /// Connects to <paramref name="endpoint"/>, which must be an <see cref="IPEndPoint"/>. There is no built-in
    /// connect timeout: cancel <paramref name="cancellationToken"/> to give up.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the socket has been disposed.</exception>
    /// <exception cref="SocketException">The connect failed, e.g. with <see cref="SocketError.ConnectionRefused"/>.</exception>
    /// <exception cref="NotSupportedException"><paramref name="endpoint"/> is not an <see cref="IPEndPoint"/>.</exception>
    public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint is not IPEndPoint ipEndPoint)
        {
            throw new NotSupportedException($"The socket transport connects to IPEndPoint only, not {endpoint.GetType().Name}.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var socket = new Socket(ipEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        EpollLoop? watchedBy = null;
        try
        {
            if (_options.NoDelay)
            {
                socket.NoDelay = true;
            }

            SocketError error;
            if (_options.ConnectThroughEpoll && OperatingSystem.IsLinux() && EpollLoop.IsSupported)
            {
                (error, watchedBy) = await EpollConnect.ConnectAsync(socket, ipEndPoint, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                error = await SocketConnector.ConnectAsync(_connectors, socket, ipEndPoint, cancellationToken).ConfigureAwait(false);
            }
            if (cancellationToken.IsCancellationRequested)
            {
                // Cancelled, or cancellation raced with the outcome: the caller asked to stop, so report that.
                throw new OperationCanceledException("The connect was cancelled.", error == SocketError.Success ? null : new SocketException((int)error), cancellationToken);
            }

            if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = _contextFactory.Create(socket, ipEndPoint);
        connection.WatchedBy = watchedBy;
        return connection;
    }
}
