using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Listeners;
using FastProxy.Model;
using Microsoft.Extensions.Logging;

namespace FastProxy.Forwarding.Udp;

/// <summary>
/// One bound UDP service address (virtual IP, node port, external or load-balancer address) and its
/// receive loop: each datagram goes to its client's session, opened on the client's first datagram.
/// Replies come back through this socket, so the client sees them from the address it sent to.
/// </summary>
/// <remarks>
/// The per-datagram path allocates nothing: one pinned 64 KiB buffer and one <see cref="SocketAddress"/>
/// per listener, the <see cref="SocketAddress"/> overloads of receive and send, a struct key.
/// A session checks its endpoint again only when the listener's route changed (a version number), so
/// the common case costs one comparison.
/// </remarks>
internal sealed class UdpListener
{
    /// <summary>The largest datagram forwarded: a UDP payload is at most 65,507 bytes over IPv4 and 65,527 over IPv6.</summary>
    public const int MaxDatagram = 64 * 1024;

    // After a receive error other than the listener closing, wait this long before the next receive, so
    // an error that persists does not spin a core.
    private static readonly TimeSpan ErrorBackoff = TimeSpan.FromMilliseconds(10);
    private static int _lastId;

    private readonly ServiceListener _target;
    private readonly IPEndPoint _addressTemplate;
    private Socket? _socket;
    private int _routeVersion;
    private volatile bool _closed;

    public UdpListener(ListenerKey key, PortRoute route, ImmutableArray<IPNetwork> sourceRanges, UdpSessionTable table, TimeProvider time, ILogger logger)
    {
        // ServiceListener is the TCP listener's holder of route and source ranges; the UDP one reuses it for both.
        _target = new ServiceListener(key, route, sourceRanges);
        _addressTemplate = new IPEndPoint(key.EndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        Table = table;
        Time = time;
        Logger = logger;
    }

    /// <summary>Sets this listener's sessions apart from other listeners' in the service's table.</summary>
    public int Id { get; } = Interlocked.Increment(ref _lastId);

    public ListenerKey Key => _target.Key;

    public UdpSessionTable Table { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public PortRoute Route => _target.Route;

    /// <summary>The bound address; null before the bind, after a failed one and after closing.</summary>
    public EndPoint? BoundEndPoint => _closed ? null : _socket?.LocalEndPoint;

    public bool IsBound => _socket is not null;

    /// <summary>Points the listener at a new version of its route and source ranges; sessions check their endpoint on their next datagram.</summary>
    public void Update(PortRoute route, ImmutableArray<IPNetwork> sourceRanges)
    {
        _target.Update(route, sourceRanges);
        Interlocked.Increment(ref _routeVersion);
    }

    /// <summary>Binds the socket and starts the receive loop.</summary>
    /// <exception cref="SocketException">The address is taken or not local.</exception>
    public void Bind()
    {
        var socket = new Socket(Key.EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(Key.EndPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        _ = ReceiveLoopAsync(socket);
    }

    /// <summary>Closes the socket and returns the listener's sessions, taken out of the table, for the caller to close.</summary>
    public List<UdpSession>? Close()
    {
        _closed = true;
        _socket?.Dispose();
        return Table.TakeListener(this);
    }

    /// <summary>Sends a reply to <paramref name="client"/> from the service address; false when it could not be sent.</summary>
    public async ValueTask<bool> SendReplyAsync(ReadOnlyMemory<byte> datagram, SocketAddress client)
    {
        try
        {
            await _socket!.SendToAsync(datagram, SocketFlags.None, client).ConfigureAwait(false);
            return true;
        }
        catch (SocketException ex)
        {
            // A client that went away, or a full send buffer: UDP drops the datagram, as the network would.
            UdpLog.ReplyFailed(Logger, Key, ex.SocketErrorCode);
            return false;
        }
    }

    private async Task ReceiveLoopAsync(Socket socket)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(MaxDatagram, pinned: true);
        var from = new SocketAddress(socket.AddressFamily);
        UdpLog.Started(Logger, Key, Table.ServiceLabel);
        while (true)
        {
            int length;
            try
            {
                length = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from).ConfigureAwait(false);
            }
            catch (Exception) when (_closed)
            {
                UdpLog.Stopped(Logger, Key);
                return;
            }
            catch (SocketException ex)
            {
                UdpLog.ReceiveFailed(Logger, Key, ex);
                await Task.Delay(ErrorBackoff).ConfigureAwait(false);
                continue;
            }

            var upstream = SessionFor(from);
            if (upstream is null)
            {
                continue;
            }

            try
            {
                await upstream.SendAsync(buffer.AsMemory(0, length)).ConfigureAwait(false);
                upstream.Endpoint.AddBytes(toEndpoint: true, length);
                Table.Counters.Forwarded(toEndpoint: true, length);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The endpoint refused an earlier datagram (ICMP port unreachable), or the session closed
                // while this one was on its way: UDP loses it.
                Table.Counters.Drop(UdpDrop.Failed);
            }
        }
    }

    /// <summary>The upstream for a datagram from <paramref name="from"/>: the client's session's, a re-picked one, or a new session's; null drops the datagram.</summary>
    private UdpUpstream? SessionFor(SocketAddress from)
    {
        var key = UdpSessionKey.From(from, Id);
        var now = Time.GetTimestamp();
        if (Table.TryGet(key, out var session))
        {
            // Read the version before the route, so a change published in between is seen next time.
            var version = Volatile.Read(ref _routeVersion);
            var upstream = session.Upstream;
            if (session.RouteVersion != version || upstream is null || upstream.IsClosed || upstream.Endpoint.IsRemoved)
            {
                upstream = Recheck(session, upstream, version);
            }

            session.Touch(now);
            return upstream;
        }

        return Open(key, from, now);
    }

    /// <summary>
    /// The route changed (or the session's socket failed): keeps the session's endpoint while the route
    /// still takes it, else re-picks, so no client keeps sending into an endpoint that left (no blackhole).
    /// </summary>
    private UdpUpstream? Recheck(UdpSession session, UdpUpstream? upstream, int version)
    {
        var route = _target.Route;
        if (!_target.Admits(session.ClientEndPoint))
        {
            // The source ranges changed and this client is outside them now.
            End(session);
            Table.Counters.Drop(UdpDrop.SourceRange);
            return null;
        }

        if (upstream is { IsClosed: false } && !upstream.Endpoint.IsRemoved && route.Takes(upstream.Endpoint))
        {
            session.RouteVersion = version;
            return upstream;
        }

        if (upstream is not null)
        {
            route.Affinity?.Forget(session.AffinityKey, upstream.Endpoint);
        }

        var endpoint = Choose(route, session.ClientEndPoint, session.AffinityKey);
        if (endpoint is null)
        {
            End(session);
            Table.Counters.Drop(UdpDrop.NoEndpoint);
            UdpLog.NoEndpoints(Logger, Key, session.ClientEndPoint);
            return null;
        }

        var fresh = TryOpenUpstream(session, endpoint);
        if (fresh is null)
        {
            return null;
        }

        session.Attach(fresh);
        session.RouteVersion = version;
        Table.Counters.SessionRepicked();
        return fresh;
    }

    /// <summary>Opens a session for a client's first datagram. Allocates (the client's address, the session, its socket), once per session.</summary>
    private UdpUpstream? Open(in UdpSessionKey key, SocketAddress from, long now)
    {
        var version = Volatile.Read(ref _routeVersion);
        var route = _target.Route;
        if (route.Picker is null)
        {
            // Dropped before anything is allocated: a flood at a service with no endpoint costs nothing.
            Table.Counters.Drop(UdpDrop.NoEndpoint);
            return null;
        }

        var clientEndPoint = (IPEndPoint)_addressTemplate.Create(from);
        if (!_target.Admits(clientEndPoint))
        {
            UdpLog.SourceRefused(Logger, clientEndPoint, Key);
            Table.Counters.Drop(UdpDrop.SourceRange);
            return null;
        }

        var client = new SocketAddress(from.Family, from.Size);
        from.Buffer.Span[..from.Size].CopyTo(client.Buffer.Span);
        var session = new UdpSession(key, this, client, clientEndPoint, version, now);
        var endpoint = Choose(route, clientEndPoint, session.AffinityKey);
        if (endpoint is null)
        {
            Table.Counters.Drop(UdpDrop.NoEndpoint);
            return null;
        }

        var upstream = TryOpenUpstream(session, endpoint);
        if (upstream is null)
        {
            return null;
        }

        session.Attach(upstream);
        if (Table.Add(session) is { } evicted)
        {
            evicted.Close();
            UdpLog.Evicted(Logger, evicted.ClientEndPoint, Table.ServiceLabel, Table.Policy.MaxSessions);
        }

        return upstream;
    }

    private UdpUpstream? TryOpenUpstream(UdpSession session, EndpointState endpoint)
    {
        try
        {
            return UdpUpstream.Open(session, endpoint);
        }
        catch (SocketException ex)
        {
            Table.Counters.Drop(UdpDrop.Failed);
            UdpLog.SessionOpenFailed(Logger, session.ClientEndPoint, endpoint.EndPoint, ex);
            return null;
        }
    }

    /// <summary>
    /// The endpoint for a new or re-picked session: the client's affinity endpoint while the route takes
    /// it, else the strategy's pick (hashing strategies hash the client's address and port), recorded for affinity.
    /// </summary>
    private static EndpointState? Choose(PortRoute route, IPEndPoint client, Affinity.ClientAddress affinityKey)
    {
        var affinity = route.Affinity;
        if (affinity is not null && affinity.TryGet(affinityKey, out var sticky))
        {
            if (route.Takes(sticky))
            {
                return sticky;
            }

            affinity.Forget(affinityKey, sticky);
        }

        var picked = route.Picker?.Pick(PickContext.ForClient(client));
        if (picked is null || picked.IsRemoved)
        {
            // A picker built before the endpoint left may still name it: any endpoint the route still has will do.
            picked = null;
            foreach (var endpoint in route.Endpoints)
            {
                if (!endpoint.IsRemoved)
                {
                    picked = endpoint;
                    break;
                }
            }
        }

        return picked is not null && affinity is not null ? affinity.Bind(affinityKey, picked) : picked;
    }

    private void End(UdpSession session)
    {
        if (Table.Remove(session))
        {
            Table.Counters.SessionEnded(UdpSessionEnd.Closed);
        }

        session.Close();
    }
}
