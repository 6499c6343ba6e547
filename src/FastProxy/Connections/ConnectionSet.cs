namespace FastProxy.Connections;

/// <summary>
/// A set of forwarded connections under one lock: an endpoint's or a listener's (which the drain policy acts
/// on), or the server's (which the idle scan walks). Adding and removing cost a lock and a hash set operation
/// per connection, never per read.
/// </summary>
internal sealed class ConnectionSet
{
    private readonly Lock _lock = new();
    private readonly HashSet<ForwardedConnection> _connections = [];
    private Termination _closedBy;
    private DrainTrigger _triggers;

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
    /// Records that the drain policy acted on <paramref name="trigger"/>; false when it already had. A terminating
    /// endpoint shows up in every later change of its conditions or weight: only its first one is the trigger.
    /// </summary>
    public bool TryStartTrigger(DrainTrigger trigger)
    {
        lock (_lock)
        {
            if ((_triggers & trigger) != 0)
            {
                return false;
            }

            _triggers |= trigger;
            return true;
        }
    }

    /// <summary>
    /// Adds a connection; when the set was closed for good returns why instead (the caller resets the connection,
    /// as the policy reset the others).
    /// </summary>
    public Termination Add(ForwardedConnection connection)
    {
        lock (_lock)
        {
            if (_closedBy != Termination.None)
            {
                return _closedBy;
            }

            _connections.Add(connection);
            return Termination.None;
        }
    }

    public void Remove(ForwardedConnection connection)
    {
        lock (_lock)
        {
            _connections.Remove(connection);
        }
    }

    /// <summary>Refuses further connections for good (the first reason stands) and returns those open now.</summary>
    public ForwardedConnection[] Close(Termination reason)
    {
        lock (_lock)
        {
            if (_closedBy == Termination.None)
            {
                _closedBy = reason;
            }

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

/// <summary>What made the drain policy act on a set; each acts once per set.</summary>
[Flags]
internal enum DrainTrigger
{
    None = 0,

    /// <summary>The endpoint turned terminating (it may still take new connections as a fallback).</summary>
    Terminating = 1,

    /// <summary>The endpoint left its service, or the listener was removed: the set closes for good.</summary>
    Removed = 2,
}
