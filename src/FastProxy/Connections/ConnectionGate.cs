namespace FastProxy.Connections;

/// <summary>
/// The connection slots of one service with a limit: counts its open connections and queues those waiting
/// for a slot (of the service, or of one of its endpoints). Every connection that ends wakes one waiter, which
/// then tries again; waiting is bounded in number and time. Exists only for services with a limit.
/// </summary>
internal sealed class ConnectionGate
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource<bool>> _waiters = new();
    private int _active;
    private long _releases;

    /// <summary>How many connections ended so far: a waiter that saw another value retries at once instead of waiting.</summary>
    public long Releases => Interlocked.Read(ref _releases);

    /// <summary>Connections of the service holding a slot.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Connections waiting for a slot.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Takes a service slot when fewer than <paramref name="max"/> are held (0: no service limit, only counted).</summary>
    public bool TryEnter(int max)
    {
        lock (_lock)
        {
            if (max > 0 && _active >= max)
            {
                return false;
            }

            _active++;
            return true;
        }
    }

    /// <summary>Gives a slot back (the connection ended or never got an endpoint) and wakes the first waiter.</summary>
    public void Exit()
    {
        lock (_lock)
        {
            _active--;
            _releases++;
            while (_waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                if (first.Value.TrySetResult(true))
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Waits until a connection of the service ends (true: try again) or <paramref name="timeout"/> passes
    /// (false). Returns null at once when <paramref name="limit"/> connections are waiting already; returns true
    /// at once when a connection ended since <paramref name="seenReleases"/> was read.
    /// </summary>
    public async ValueTask<bool?> WaitAsync(long seenReleases, int limit, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        LinkedListNode<TaskCompletionSource<bool>> node;
        lock (_lock)
        {
            if (_releases != seenReleases)
            {
                return true;
            }

            if (_waiters.Count >= limit)
            {
                return null;
            }

            node = _waiters.AddLast(waiter);
        }

        using var deadline = new CancellationTokenSource(timeout, time);
        using var timedOut = deadline.Token.UnsafeRegister(static w => ((TaskCompletionSource<bool>)w!).TrySetResult(false), waiter);
        using var cancelled = cancellationToken.UnsafeRegister(static w => ((TaskCompletionSource<bool>)w!).TrySetResult(false), waiter);
        var woken = await waiter.Task.ConfigureAwait(false);
        if (!woken)
        {
            lock (_lock)
            {
                if (node.List is not null)
                {
                    _waiters.Remove(node);
                }
            }
        }

        return woken;
    }
}
