namespace FastProxy.Connections;

/// <summary>
/// A set of forwarded connections under one lock: an endpoint's (which its drain policy acts on) or the
/// server's (which the idle scan and removed listeners walk). Adding and removing cost a lock and a hash
/// set operation per connection, never per read.
/// </summary>
internal sealed class ConnectionSet
{
    private readonly Lock _lock = new();
    private readonly HashSet<ForwardedConnection> _connections = [];
    private bool _closed;
    private bool _draining;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>
    /// Marks the drain policy started on this set: false when it already was and <paramref name="close"/> is
    /// false, so an endpoint that turned terminating and then left is drained once, while close still acts.
    /// </summary>
    public bool TryStartDrain(bool close)
    {
        lock (_lock)
        {
            if (_draining && !close)
            {
                return false;
            }

            _draining = true;
            return true;
        }
    }

    /// <summary>Adds a connection; false when the set was closed by policy (the caller resets the connection).</summary>
    public bool Add(ForwardedConnection connection)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return false;
            }

            _connections.Add(connection);
            return true;
        }
    }

    public void Remove(ForwardedConnection connection)
    {
        lock (_lock)
        {
            _connections.Remove(connection);
        }
    }

    /// <summary>Refuses further connections and returns those open now.</summary>
    public ForwardedConnection[] Close()
    {
        lock (_lock)
        {
            _closed = true;
            return [.. _connections];
        }
    }

    /// <summary>The connections open now.</summary>
    public ForwardedConnection[] ToArray()
    {
        lock (_lock)
        {
            return [.. _connections];
        }
    }

    /// <summary>Copies the connections open now into <paramref name="buffer"/> (grown when too small); returns how many.</summary>
    public int CopyTo(ref ForwardedConnection[] buffer)
    {
        lock (_lock)
        {
            if (buffer.Length < _connections.Count)
            {
                buffer = new ForwardedConnection[Math.Max(_connections.Count, buffer.Length * 2)];
            }

            _connections.CopyTo(buffer);
            return _connections.Count;
        }
    }
}
