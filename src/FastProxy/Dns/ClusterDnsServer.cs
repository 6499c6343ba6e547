using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using FastProxy.Catalog;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Dns;

/// <summary>
/// An embedded DNS server for the cluster domain, over UDP and TCP on one address, following the
/// Kubernetes DNS-based service discovery specification (schema 1.1.0). Every question is answered from
/// <see cref="ServiceCatalog.Current"/> as it is at that moment: no cache, no lock, so answers follow
/// the catalog as soon as it publishes. Questions outside the cluster domain are refused, or forwarded
/// when <see cref="ClusterDnsOptions.Upstream"/> is set.
/// </summary>
public sealed partial class ClusterDnsServer : IAsyncDisposable
{
    private const int MaxBindAttempts = 8;

    private readonly ClusterDnsOptions _options;
    private readonly DnsRequestHandler _handler;
    private readonly DnsForwarder? _forwarder;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, byte> _connections = new();
    private readonly List<Task> _loops = [];
    private Socket? _udp;
    private Socket? _tcp;
    private int _state;   // 0 new, 1 started, 2 stopped

    /// <summary>Creates a server over <paramref name="catalog"/>; it listens once started.</summary>
    /// <param name="catalog">The catalog whose current snapshot every answer comes from.</param>
    /// <param name="options">Settings; defaults apply when null.</param>
    /// <exception cref="ArgumentException">A setting is invalid; the message names it.</exception>
    public ClusterDnsServer(ServiceCatalog catalog, ClusterDnsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _options = options ?? new ClusterDnsOptions();
        _options.Validate();
        _logger = (_options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ClusterDnsServer>();
        _forwarder = _options.Upstream is { } upstream
            ? new DnsForwarder(upstream, _options.UpstreamTimeout, _options.MaxConcurrentForwards, _options.TimeProvider)
            : null;
        var zone = new ClusterZone(_options.ClusterDomain, (uint)_options.Ttl.TotalSeconds);
        _handler = new DnsRequestHandler(catalog, zone, _options.MaxUdpPayloadSize, _forwarder is not null);
    }

    /// <summary>The address the server listens on (UDP and TCP), with the real port when 0 was asked for; null before it starts.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>The number of open TCP connections.</summary>
    public int TcpConnections => _connections.Count;

    /// <summary>Binds UDP and TCP and starts answering.</summary>
    /// <param name="cancellationToken">Unused: binding does not wait.</param>
    /// <exception cref="SocketException">The address cannot be bound (in use, not local).</exception>
    /// <exception cref="InvalidOperationException">The server was started before.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The DNS server can be started once.");
        }

        Bind();
        _loops.Add(Task.Run(ReceiveLoopAsync, CancellationToken.None));
        _loops.Add(Task.Run(AcceptLoopAsync, CancellationToken.None));
        Log.Listening(_logger, LocalEndPoint!, _options.ClusterDomain, _forwarder?.Upstream.ToString() ?? "off");
        return Task.CompletedTask;
    }

    /// <summary>Stops listening and closes open TCP connections; questions being forwarded get no answer.</summary>
    /// <param name="cancellationToken">Stops waiting for the loops to end.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _udp?.Dispose();
        _tcp?.Dispose();
        foreach (var connection in _connections.Keys)
        {
            connection.Dispose();
        }

        await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the server (see <see cref="StopAsync"/>) and releases it.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _state, 2);
        _stopping.Dispose();
        _forwarder?.Dispose();
    }

    private void Bind()
    {
        var endPoint = _options.EndPoint;
        for (var attempt = 1; ; attempt++)
        {
            var udp = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            var tcp = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                udp.Bind(endPoint);
                var bound = (IPEndPoint)udp.LocalEndPoint!;
                tcp.Bind(bound);
                tcp.Listen(_options.MaxTcpConnections);
                (_udp, _tcp, LocalEndPoint) = (udp, tcp, bound);
                return;
            }
            catch (SocketException) when (endPoint.Port == 0 && attempt < MaxBindAttempts)
            {
                // The free UDP port was taken on TCP: try another.
                udp.Dispose();
                tcp.Dispose();
            }
            catch
            {
                udp.Dispose();
                tcp.Dispose();
                throw;
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var socket = _udp!;
        var buffer = new byte[DnsLimits.MaxMessage];
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!_stopping.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // A client's ICMP error surfacing here says nothing about the next datagram.
                Log.UdpReceiveFailed(_logger, ex.SocketErrorCode);
                continue;
            }

            try
            {
                var response = _handler.Answer(buffer.AsSpan(0, received.ReceivedBytes), tcp: false, out var forward);
                if (forward is not null)
                {
                    _ = ForwardUdpAsync(buffer.AsSpan(0, received.ReceivedBytes).ToArray(), forward, received.RemoteEndPoint);
                }
                else if (response is not null)
                {
                    await socket.SendToAsync(response, SocketFlags.None, received.RemoteEndPoint, _stopping.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
#pragma warning disable CA1031 // One bad datagram (or one client's unreachable address) never stops the loop.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.RequestFailed(_logger, received.RemoteEndPoint, ex);
            }
        }
    }

    private async Task ForwardUdpAsync(byte[] packet, DnsQuery query, EndPoint client)
    {
        try
        {
            var answer = await _forwarder!.ForwardAsync(packet, tcp: false, _stopping.Token).ConfigureAwait(false);
            if (answer is null)
            {
                Log.ForwardFailed(_logger, query.Name, _forwarder.Upstream);
            }

            await _udp!.SendToAsync(answer ?? _handler.ServerFailure(query, tcp: false), SocketFlags.None, client, _stopping.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Nobody awaits this task: whatever happens ends here.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (!_stopping.IsCancellationRequested)
            {
                Log.RequestFailed(_logger, client, ex);
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        var listener = _tcp!;
        while (!_stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of descriptors, or a connection reset before it was accepted: pause briefly rather than spin.
                Log.AcceptFailed(_logger, ex.SocketErrorCode);
                await Task.Delay(TimeSpan.FromMilliseconds(50), _options.TimeProvider, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            if (_connections.Count >= _options.MaxTcpConnections)
            {
                Log.TcpLimitReached(_logger, connection.RemoteEndPoint, _options.MaxTcpConnections);
                connection.Dispose();
                continue;
            }

            _connections.TryAdd(connection, 0);
            _ = ServeConnectionAsync(connection);
        }
    }

    /// <summary>Answers a TCP connection's queries in turn until it closes, stays idle too long, or sends something that is not a query.</summary>
    private async Task ServeConnectionAsync(Socket connection)
    {
        var client = connection.RemoteEndPoint;
        var message = ArrayPool<byte>.Shared.Rent(DnsLimits.MaxMessage);
        var prefix = new byte[2];
        try
        {
            while (true)
            {
                // The idle timeout covers the whole next message, so a client trickling bytes is closed too.
                using var idle = new CancellationTokenSource(_options.TcpIdleTimeout, _options.TimeProvider);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(idle.Token, _stopping.Token);
                if (!await DnsTcp.ReadExactlyAsync(connection, prefix, linked.Token).ConfigureAwait(false))
                {
                    return;
                }

                var length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
                if (!await DnsTcp.ReadExactlyAsync(connection, message.AsMemory(0, length), linked.Token).ConfigureAwait(false))
                {
                    return;
                }

                var response = _handler.Answer(message.AsSpan(0, length), tcp: true, out var forward);
                if (forward is not null)
                {
                    response = await _forwarder!.ForwardAsync(message.AsMemory(0, length), tcp: true, _stopping.Token).ConfigureAwait(false);
                    if (response is null)
                    {
                        Log.ForwardFailed(_logger, forward.Name, _forwarder.Upstream);
                    }

                    response ??= _handler.ServerFailure(forward, tcp: true);
                }

                if (response is null)
                {
                    // Not a query (a response, or shorter than a header): the stream is out of step.
                    return;
                }

                await connection.SendAsync(DnsTcp.Frame(response), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
            // Idle, stopping, or the client went away.
        }
#pragma warning disable CA1031 // Nobody awaits this task: whatever happens ends here.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.RequestFailed(_logger, client, ex);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            connection.Dispose();
            ArrayPool<byte>.Shared.Return(message);
        }
    }
}
