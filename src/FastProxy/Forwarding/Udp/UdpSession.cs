using System.Net;
using FastProxy.Affinity;

namespace FastProxy.Forwarding.Udp;

/// <summary>
/// One client (address and port) of one UDP listener and the endpoint its datagrams go to, through
/// its own connected <see cref="UdpUpstream"/>. A re-pick swaps the upstream; the session, its place in
/// the table and its client stay.
/// </summary>
internal sealed class UdpSession
{
    private UdpUpstream? _upstream;
    private long _lastUsed;
    private int _closed;

    public UdpSession(UdpSessionKey key, UdpListener listener, SocketAddress client, IPEndPoint clientEndPoint, int routeVersion, long now)
    {
        Key = key;
        Listener = listener;
        Client = client;
        ClientEndPoint = clientEndPoint;
        AffinityKey = ClientAddress.From(clientEndPoint);
        RouteVersion = routeVersion;
        _lastUsed = now;
    }

    public UdpSessionKey Key { get; }

    public UdpListener Listener { get; }

    /// <summary>Where replies go: the client's own socket address, kept from its first datagram.</summary>
    public SocketAddress Client { get; }

    public IPEndPoint ClientEndPoint { get; }

    public ClientAddress AffinityKey { get; }

    /// <summary>The listener's route version this session's endpoint was last checked against; only the listener's receive loop touches it.</summary>
    public int RouteVersion { get; set; }

    /// <summary>The socket to the session's endpoint; null once the session is closed.</summary>
    public UdpUpstream? Upstream => Volatile.Read(ref _upstream);

    /// <summary>When a datagram last went either way, in <see cref="TimeProvider"/> ticks.</summary>
    public long LastUsed => Volatile.Read(ref _lastUsed);

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    // The table's list links, guarded by the table's lock.
    public UdpSession? Newer { get; set; }

    public UdpSession? Older { get; set; }

    public bool InTable { get; set; }

    public void Touch(long now) => Volatile.Write(ref _lastUsed, now);

    /// <summary>Makes <paramref name="upstream"/> the session's (a first pick or a re-pick), closing the one it replaces.</summary>
    public void Attach(UdpUpstream upstream)
    {
        Interlocked.Exchange(ref _upstream, upstream)?.Close();
        if (IsClosed)
        {
            // Closed meanwhile (expired, evicted): Close may have run before the exchange and missed it.
            upstream.Close();
            return;
        }

        upstream.Start();
    }

    /// <summary>Closes the upstream socket; replies still in flight from the endpoint are lost, as with conntrack.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            Interlocked.Exchange(ref _upstream, null)?.Close();
        }
    }
}
