using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Transport.Memory;

/// <summary>A memory transport listener: an unbounded accept queue of server-side connections.</summary>
internal sealed class MemoryConnectionListener : IConnectionListener
{
    private readonly MemoryTransport _transport;
    private readonly Channel<MemoryConnection> _backlog =
        Channel.CreateUnbounded<MemoryConnection>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });

    public MemoryConnectionListener(MemoryTransport transport, EndPoint endPoint)
    {
        _transport = transport;
        EndPoint = endPoint;
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        // WaitToReadAsync returns false once the backlog is completed by UnbindAsync.
        while (await _backlog.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_backlog.Reader.TryRead(out var connection))
            {
                return connection;
            }
        }

        return null;
    }

    internal bool TryEnqueue(MemoryConnection connection) => _backlog.Writer.TryWrite(connection);

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _transport.Unregister(this);
        if (_backlog.Writer.TryComplete())
        {
            // Connections nobody accepted are reset, as when a listening socket closes with a full backlog.
            while (_backlog.Reader.TryRead(out var connection))
            {
                connection.Abort(new ConnectionAbortedException("The listener was unbound before the connection was accepted."));
            }
        }

        return default;
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
