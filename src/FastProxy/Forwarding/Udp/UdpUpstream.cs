using System.Buffers;
using System.Net;
using System.Net.Sockets;
using FastProxy.Model;

namespace FastProxy.Forwarding.Udp;

/// <summary>
/// A session's socket connected to its endpoint. Connected, so the kernel hands it only that endpoint's
/// replies (no demultiplexing of our own) and the endpoint sees one client address and port per session.
/// Its reply loop sends every reply back through the listener's socket, so it comes from the service address.
/// </summary>
internal sealed class UdpUpstream
{
    private readonly UdpSession _session;
    private int _closed;

    // The SocketAddress overloads: on a datagram socket, SendAsync(ReadOnlyMemory) and ReceiveAsync(Memory)
    // allocate on every call (measured, .NET 10), SendToAsync and ReceiveFromAsync with a SocketAddress do not.
    private readonly SocketAddress _endpointAddress;
    private readonly SocketAddress _replyAddress;

    private UdpUpstream(UdpSession session, EndpointState endpoint, Socket socket)
    {
        _session = session;
        Endpoint = endpoint;
        Socket = socket;
        _endpointAddress = endpoint.EndPoint.Serialize();
        _replyAddress = new SocketAddress(endpoint.EndPoint.AddressFamily);
    }

    public EndpointState Endpoint { get; }

    public Socket Socket { get; }

    /// <summary>Sends a client's datagram to the endpoint.</summary>
    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> datagram) => Socket.SendToAsync(datagram, SocketFlags.None, _endpointAddress);

    /// <summary>Opens a socket connected to <paramref name="endpoint"/> and counts the session on the endpoint (what least-connections balances).</summary>
    /// <exception cref="SocketException">No socket could be made (the process is out of descriptors) or connected.</exception>
    public static UdpUpstream Open(UdpSession session, EndpointState endpoint)
    {
        var socket = new Socket(endpoint.EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // A UDP connect sends nothing: it fixes the peer and picks the local port.
            socket.Connect(endpoint.EndPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        endpoint.OnConnecting();
        endpoint.OnConnected();
        return new UdpUpstream(session, endpoint, socket);
    }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public void Start() => _ = RelayRepliesAsync();

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            Socket.Dispose();
            Endpoint.OnConnectionClosed();
        }
    }

    private async Task RelayRepliesAsync()
    {
        var listener = _session.Listener;
        var counters = listener.Table.Counters;
        try
        {
            while (true)
            {
                try
                {
                    // Wait for a reply without holding a buffer: an idle session costs its socket, not 64 KiB.
                    // A zero-byte peek leaves the datagram queued for the receive below.
                    await Socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.Peek).ConfigureAwait(false);
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    // The endpoint's port answered an earlier datagram with ICMP port unreachable: nothing to relay.
                    continue;
                }

                var buffer = ArrayPool<byte>.Shared.Rent(UdpListener.MaxDatagram);
                try
                {
                    var length = await Socket.ReceiveFromAsync(buffer, SocketFlags.None, _replyAddress).ConfigureAwait(false);
                    _session.Touch(listener.Time.GetTimestamp());
                    if (await listener.SendReplyAsync(buffer.AsMemory(0, length), _session.Client).ConfigureAwait(false))
                    {
                        Endpoint.AddBytes(toEndpoint: false, length);
                        counters.Forwarded(toEndpoint: false, length);
                    }
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    // As above, reported on the receive instead of the peek.
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException or OperationCanceledException)
        {
            // The session closed (its socket disposed) or its socket failed: either way this socket relays no
            // more. A failed one is closed, and the client's next datagram opens a new one.
            if (!IsClosed)
            {
                UdpLog.RelayFailed(listener.Logger, _session.ClientEndPoint, Endpoint.EndPoint, ex);
                Close();
            }
        }
    }
}
