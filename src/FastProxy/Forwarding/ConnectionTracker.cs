using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Forwarding;

/// <summary>The open client connections, so shutdown can wait for them and reset what outlives its deadline.</summary>
internal sealed class ConnectionTracker
{
    private readonly ConcurrentDictionary<ConnectionContext, byte> _open = new(ReferenceEqualityComparer.Instance);
    private TaskCompletionSource? _drained;

    public int Count => _open.Count;

    public void Add(ConnectionContext connection) => _open.TryAdd(connection, 0);

    public void Remove(ConnectionContext connection)
    {
        if (_open.TryRemove(connection, out _) && _open.IsEmpty)
        {
            Volatile.Read(ref _drained)?.TrySetResult();
        }
    }

    /// <summary>Completes when no connection is open.</summary>
    public Task WhenDrainedAsync()
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _drained, drained);
        // Checked after publishing the source, so a connection closing in between cannot be missed.
        if (_open.IsEmpty)
        {
            drained.TrySetResult();
        }

        return drained.Task;
    }

    public void AbortAll(string reason)
    {
        foreach (var connection in _open.Keys)
        {
            connection.Abort(new ConnectionAbortedException(reason));
        }
    }
}
