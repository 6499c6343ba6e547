using System.Collections.Concurrent;
using FastProxy.Model;

namespace FastProxy.Affinity;

/// <summary>
/// ClientIP session affinity for one service port: client address → endpoint, expiring a timeout after
/// the client's last new connection (what kube-proxy's <c>recent</c> match does), bounded in size.
/// </summary>
/// <remarks>
/// Lookups of a known client take no lock and allocate nothing. Recording a new client allocates its
/// entry (once per client, not per connection). When the table is full, expired entries and entries
/// whose endpoint left the service are swept; if it is still full, a new client is balanced without
/// being recorded, so known clients keep their endpoint and memory stays bounded.
/// </remarks>
internal sealed class SessionAffinityTable
{
    private const long NotStarted = long.MinValue;

    private readonly ConcurrentDictionary<ClientAddress, Entry> _entries = new();
    private readonly TimeProvider _time;
    private readonly long _timeoutTicks;
    private readonly int _capacity;
    private int _count;
    private long _rejected;
    private readonly long _sweepInterval;
    private long _lastSweep = NotStarted;

    public SessionAffinityTable(TimeSpan timeout, int capacity, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Timeout = timeout;
        _capacity = capacity;
        _time = time;
        _timeoutTicks = (long)(timeout.TotalSeconds * time.TimestampFrequency);
        _sweepInterval = Math.Min(_timeoutTicks, 60 * time.TimestampFrequency);
    }

    public TimeSpan Timeout { get; }

    /// <summary>Clients with an entry (expired ones until they are swept).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>New clients not recorded because the table was full.</summary>
    public long Rejected => Volatile.Read(ref _rejected);

    /// <summary>Returns the client's endpoint when its entry is live and the endpoint still serves; drops a stale entry.</summary>
    public bool TryGet(ClientAddress client, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EndpointState? endpoint)
        => TryGetLive(client, _time.GetTimestamp(), out endpoint);

    /// <summary>
    /// Records <paramref name="picked"/> for a client that had no live entry and returns the endpoint the
    /// client is bound to: <paramref name="picked"/>, or the one a concurrent first connection of the same
    /// client recorded a moment earlier, so both connections agree.
    /// </summary>
    public EndpointState Bind(ClientAddress client, EndpointState picked)
    {
        var now = _time.GetTimestamp();
        if (TryGetLive(client, now, out var bound))
        {
            return bound;
        }

        // Stale entries (expired, or to endpoints that left) are otherwise only dropped when their client
        // returns: sweep now and then so they do not pin memory and old endpoint state for good.
        Sweep(now, _sweepInterval);
        if (Interlocked.Increment(ref _count) > _capacity)
        {
            Interlocked.Decrement(ref _count);

            // Full: sweep sooner, but still at most once a second, since a full table of live clients
            // would otherwise be scanned on every new client.
            Sweep(now, _time.TimestampFrequency);
            if (Interlocked.Increment(ref _count) > _capacity)
            {
                Interlocked.Decrement(ref _count);
                Interlocked.Increment(ref _rejected);
                return picked;
            }
        }

        var entry = new Entry(picked, now);
        var winner = _entries.GetOrAdd(client, entry);
        if (!ReferenceEquals(winner, entry))
        {
            Interlocked.Decrement(ref _count);
        }

        return winner.Endpoint;
    }

    /// <summary>Forgets the client's entry if it still points at <paramref name="endpoint"/> (its connect failed).</summary>
    public void Forget(ClientAddress client, EndpointState endpoint)
    {
        if (_entries.TryGetValue(client, out var entry) && ReferenceEquals(entry.Endpoint, endpoint))
        {
            Remove(client, entry);
        }
    }

    /// <summary>The client's endpoint when its entry is live and the endpoint still serves (refreshing the entry); a stale entry is dropped.</summary>
    private bool TryGetLive(ClientAddress client, long now, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EndpointState? endpoint)
    {
        if (_entries.TryGetValue(client, out var entry))
        {
            if (IsLive(entry, now))
            {
                entry.LastUsed = now;
                endpoint = entry.Endpoint;
                return true;
            }

            Remove(client, entry);
        }

        endpoint = null;
        return false;
    }

    /// <summary>An entry holds while its client came back within the timeout and its endpoint is still in the service.</summary>
    private bool IsLive(Entry entry, long now) => !entry.Endpoint.IsRemoved && now - entry.LastUsed < _timeoutTicks;

    private void Remove(ClientAddress client, Entry entry)
    {
        // Removes only this entry: a concurrent Bind may already have replaced it.
        if (_entries.TryRemove(new KeyValuePair<ClientAddress, Entry>(client, entry)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Drops expired entries and entries to removed endpoints, unless a sweep ran less than <paramref name="interval"/> ticks ago.</summary>
    private void Sweep(long now, long interval)
    {
        var last = Volatile.Read(ref _lastSweep);
        if (last == NotStarted)
        {
            // The first call only starts the clock: a young table has nothing stale yet.
            Interlocked.CompareExchange(ref _lastSweep, now, NotStarted);
            return;
        }

        if (now - last < interval || Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
        {
            return;
        }

        foreach (var (client, entry) in _entries)
        {
            if (!IsLive(entry, now))
            {
                Remove(client, entry);
            }
        }
    }

    private sealed class Entry(EndpointState endpoint, long lastUsed)
    {
        private long _lastUsed = lastUsed;

        public EndpointState Endpoint { get; } = endpoint;

        public long LastUsed
        {
            get => Volatile.Read(ref _lastUsed);
            set => Volatile.Write(ref _lastUsed, value);
        }
    }
}
