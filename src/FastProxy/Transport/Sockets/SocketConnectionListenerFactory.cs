using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// Binds TCP listeners whose connections support half-close: completing <c>Transport.Output</c> sends FIN
/// and leaves <c>Transport.Input</c> open, and a peer's FIN completes <c>Transport.Input</c> while sending
/// goes on. <see cref="ConnectionContext.Abort(ConnectionAbortedException)"/> resets the connection (RST).
/// </summary>
/// <remarks>
/// <para>
/// All listeners bound by one factory share its I/O queues, memory pools and sender pools. Accepted
/// connections expose <see cref="Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature"/>.
/// </para>
/// <para>Connection semantics (the same for <see cref="SocketConnectionFactory"/> connections):</para>
/// <list type="bullet">
/// <item><c>Transport.Input</c> completes without an error on the peer's FIN and faults with
/// <see cref="ConnectionResetException"/> on a reset; after a local abort it faults with
/// <see cref="ConnectionAbortedException"/>.</item>
/// <item><c>Transport.Output.Complete()</c> sends everything written, then FIN (<c>Shutdown(Send)</c>); receiving
/// continues. <c>Complete(exception)</c> aborts.</item>
/// <item><see cref="ConnectionContext.Abort(ConnectionAbortedException)"/> closes at once with a reset (RST):
/// unsent data is dropped and the peer sees ECONNRESET.</item>
/// <item><c>DisposeAsync()</c> completes both pipes, waits until everything written has been handed to the kernel
/// and FIN has been sent, then closes the socket and returns the buffers. It has no timeout: while the peer does
/// not read, it waits (backpressure). Call <c>Abort()</c> to bound it; an abort makes a pending dispose finish
/// promptly. Disposing twice is harmless. As with any TCP close, if the peer had sent data that nobody read,
/// the kernel answers the close with RST.</item>
/// <item><see cref="BaseConnectionContext.ConnectionClosed"/> fires when the socket is closed: both directions
/// finished, abort, reset, or dispose.</item>
/// </list>
/// </remarks>
public sealed class SocketConnectionListenerFactory : IConnectionListenerFactory
{
    // Socket option numbers for SO_REUSEPORT; .NET has no SocketOptionName for it, and
    // SocketOptionName.ReuseAddress on Linux sets SO_REUSEADDR *and* SO_REUSEPORT, so it cannot be used to
    // get one without the other.
    private const int LinuxSolSocket = 1;
    private const int LinuxSoReusePort = 15;
    private const int BsdSolSocket = 0xffff;
    private const int BsdSoReusePort = 0x200;

    private readonly SocketTransportOptions _options;
    private readonly SocketConnectionContextFactory _contextFactory;
    private readonly ILogger _logger;

    /// <summary>Creates a listener factory.</summary>
    /// <param name="options">Transport options; <see langword="null"/> uses the defaults. The values are copied.</param>
    /// <param name="loggerFactory">Logger factory for transport diagnostics; <see langword="null"/> disables logging.</param>
    public SocketConnectionListenerFactory(SocketTransportOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _options = (options ?? new SocketTransportOptions()).Snapshot();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("FastProxy.Transport.Sockets");
        _contextFactory = new SocketConnectionContextFactory(_options, _logger);
    }

    /// <summary>Pool blocks currently rented by this factory's connections (tests: idle connections hold none).</summary>
    internal long RentedBlockCount => _contextFactory.RentedBlockCount;

    /// <summary>Pool blocks this factory has ever allocated (pool growth).</summary>
    internal long AllocatedBlockCount => _contextFactory.AllocatedBlockCount;

    /// <summary>
    /// Binds a TCP listener to <paramref name="endpoint"/>, which must be an <see cref="IPEndPoint"/>. Port 0
    /// picks a free port; the listener's <see cref="IConnectionListener.EndPoint"/> reports the real one.
    /// An IPv4 endpoint gets an IPv4 socket (so addresses print as 127.0.0.1, not ::ffff:127.0.0.1); the
    /// IPv6 any-address gets a dual-mode socket.
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="endpoint"/> is not an <see cref="IPEndPoint"/>.</exception>
    /// <exception cref="AddressInUseException">The address is in use (and <see cref="SocketTransportOptions.ReusePort"/> is off on either side).</exception>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        cancellationToken.ThrowIfCancellationRequested();
        if (endpoint is not IPEndPoint ipEndPoint)
        {
            throw new NotSupportedException($"The socket transport binds IPEndPoint only, not {endpoint.GetType().Name}.");
        }

        var socket = new Socket(ipEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ipEndPoint.AddressFamily == AddressFamily.InterNetworkV6 && ipEndPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            if (_options.ReusePort)
            {
                EnableReusePort(socket);
            }

            try
            {
                socket.Bind(ipEndPoint);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new AddressInUseException(ex.Message, ex);
            }

            socket.Listen(_options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ValueTask<IConnectionListener>(new SocketConnectionListener(socket, _contextFactory, _options.NoDelay, _logger));
    }

    private static void EnableReusePort(Socket socket)
    {
        Span<byte> enabled = stackalloc byte[sizeof(int)];
        BitConverter.TryWriteBytes(enabled, 1);
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(LinuxSolSocket, LinuxSoReusePort, enabled);
        }
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            socket.SetRawSocketOption(BsdSolSocket, BsdSoReusePort, enabled);
        }
        else
        {
            throw new PlatformNotSupportedException("SocketTransportOptions.ReusePort needs SO_REUSEPORT (Linux, macOS, FreeBSD).");
        }
    }
}
