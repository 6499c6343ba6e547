using FastProxy.Model;

namespace FastProxy.Forwarding.Udp;

/// <summary>
/// One service's UDP sessions over all its listeners: a dictionary by client (and listener) plus a list
/// in order of last use by the client, so the cap evicts the least recently used session in O(1).
/// Also the service's UDP counters, which the metrics observe.
/// </summary>
/// <remarks>
/// One lock guards the dictionary and the list. A listener's receive loop takes it once per datagram
/// (a lookup and a move to the front); only the listeners of one service share it, and closing
/// sockets always happens outside it.
/// </remarks>
internal sealed class UdpSessionTable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<UdpSessionKey, UdpSession> _sessions = [];
    private readonly TimeProvider _time;
    private UdpSession? _newest;
    private UdpSession? _oldest;
    private long _idleTicks;
    private int _maxSessions;

    public UdpSessionTable(NamespacedName service, UdpSessionPolicy policy, TimeProvider time)
    {
        Service = service;
        ServiceLabel = service.ToString();
        _time = time;
        Apply(policy);
    }

    public NamespacedName Service { get; }

    /// <summary>The service as metrics name it, made once.</summary>
    public string ServiceLabel { get; }

    public UdpSessionPolicy Policy { get; private set; } = UdpSessionPolicy.Default;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _sessions.Count;
            }
        }
    }

    public UdpCounters Counters { get; } = new();

    /// <summary>Takes a new policy; a lower cap applies at the next <see cref="Add"/> or <see cref="TakeOverCap"/>.</summary>
    public void Apply(UdpSessionPolicy policy)
    {
        Policy = policy;
        Volatile.Write(ref _idleTicks, (long)(policy.IdleTimeout.TotalSeconds * _time.TimestampFrequency));
        Volatile.Write(ref _maxSessions, policy.MaxSessions);
    }

    /// <summary>Finds the client's session and marks it the most recently used.</summary>
    public bool TryGet(in UdpSessionKey key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out UdpSession? session)
    {
        lock (_gate)
        {
            if (!_sessions.TryGetValue(key, out session))
            {
                return false;
            }

            if (!ReferenceEquals(_newest, session))
            {
                Unlink(session);
                LinkNewest(session);
            }

            return true;
        }
    }

    /// <summary>
    /// Adds a new session as the most recently used. When the table is at its cap, the least recently
    /// used session is taken out first and returned, for the caller to close outside the lock.
    /// </summary>
    public UdpSession? Add(UdpSession session)
    {
        UdpSession? evicted = null;
        lock (_gate)
        {
            if (_sessions.Count >= Volatile.Read(ref _maxSessions) && _oldest is { } oldest)
            {
                RemoveLocked(oldest);
                evicted = oldest;
            }

            _sessions.Add(session.Key, session);
            LinkNewest(session);
        }

        Counters.SessionCreated();
        if (evicted is not null)
        {
            Counters.SessionEnded(UdpSessionEnd.Evicted);
        }

        return evicted;
    }

    /// <summary>Takes <paramref name="session"/> out if it is still in the table.</summary>
    public bool Remove(UdpSession session)
    {
        lock (_gate)
        {
            if (!session.InTable)
            {
                return false;
            }

            RemoveLocked(session);
            return true;
        }
    }

    /// <summary>Takes out every session idle for the policy's timeout at <paramref name="now"/>.</summary>
    public List<UdpSession>? TakeExpired(long now)
    {
        var idle = Volatile.Read(ref _idleTicks);
        return Take(session => now - session.LastUsed >= idle);
    }

    /// <summary>Takes out the least recently used sessions beyond the cap (after the cap was lowered).</summary>
    public List<UdpSession>? TakeOverCap()
    {
        List<UdpSession>? taken = null;
        lock (_gate)
        {
            while (_sessions.Count > Volatile.Read(ref _maxSessions) && _oldest is { } oldest)
            {
                RemoveLocked(oldest);
                (taken ??= []).Add(oldest);
            }
        }

        return taken;
    }

    /// <summary>Takes out the sessions of one listener (it is closing).</summary>
    public List<UdpSession>? TakeListener(UdpListener listener) => Take(session => ReferenceEquals(session.Listener, listener));

    private List<UdpSession>? Take(Func<UdpSession, bool> match)
    {
        List<UdpSession>? taken = null;
        lock (_gate)
        {
            // A full walk: replies refresh a session's idle clock without moving it in the list, so the
            // list's order alone cannot tell where the expired ones end.
            for (var session = _oldest; session is not null;)
            {
                var newer = session.Newer;
                if (match(session))
                {
                    RemoveLocked(session);
                    (taken ??= []).Add(session);
                }

                session = newer;
            }
        }

        return taken;
    }

    private void RemoveLocked(UdpSession session)
    {
        _sessions.Remove(session.Key);
        Unlink(session);
        session.InTable = false;
    }

    private void LinkNewest(UdpSession session)
    {
        session.InTable = true;
        session.Older = _newest;
        session.Newer = null;
        if (_newest is not null)
        {
            _newest.Newer = session;
        }

        _newest = session;
        _oldest ??= session;
    }

    private void Unlink(UdpSession session)
    {
        if (session.Newer is { } newer)
        {
            newer.Older = session.Older;
        }
        else
        {
            _newest = session.Older;
        }

        if (session.Older is { } older)
        {
            older.Newer = session.Newer;
        }
        else
        {
            _oldest = session.Newer;
        }

        session.Newer = null;
        session.Older = null;
    }
}
