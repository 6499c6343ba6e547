using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Transport.Memory;

/// <summary>
/// An in-process transport over pipes, for tests: <see cref="BindAsync"/> registers a listener under an
/// endpoint, and <see cref="ConnectAsync"/> to that endpoint yields a connected pair (the client side is
/// returned, the server side comes out of the listener's <see cref="IConnectionListener.AcceptAsync"/>).
/// </summary>
/// <remarks>
/// <para>Each instance is its own network: endpoints bound on one instance are invisible to others.</para>
/// <para>The connections behave like the socket transport's:</para>
/// <list type="bullet">
/// <item>Completing <c>Transport.Output</c> delivers the data written so far and then completes the peer's
/// <c>Transport.Input</c> (FIN); the other direction keeps flowing.</item>
/// <item><see cref="ConnectionContext.Abort(ConnectionAbortedException)"/>, or completing <c>Transport.Output</c>
/// with an exception, faults the peer's <c>Transport.Input</c> with <see cref="ConnectionResetException"/> (RST);
/// the aborting side's own Input completes with the abort reason, and the peer's flushes report completion.</item>
/// <item>Both directions apply backpressure: 64 KiB in the writer's output pipe and 1 MiB in the reader's input
/// pipe, like the socket transport's defaults.</item>
/// <item><see cref="IAsyncDisposable.DisposeAsync"/> delivers what was written, sends FIN and waits for that like
/// the socket transport (it waits while the peer does not read; abort to cut it short). Unlike TCP, closing
/// with unread input does not reset the peer.</item>
/// </list>
/// </remarks>
public sealed class MemoryTransport : IConnectionListenerFactory, IConnectionFactory
{
    // Synthetic ports for port-0 binds and for client endpoints, from the IANA dynamic range.
    private const int FirstDynamicPort = 49152;
    private const int LastDynamicPort = 65535;

    private readonly ConcurrentDictionary<EndPoint, MemoryConnectionListener> _listeners = new();
    private int _nextPort = FirstDynamicPort - 1;

    /// <summary>
    /// Registers a listener under <paramref name="endpoint"/> (any <see cref="EndPoint"/> type; connects must use
    /// an equal endpoint). An <see cref="IPEndPoint"/> with port 0 gets a free synthetic port, visible in the
    /// listener's <see cref="IConnectionListener.EndPoint"/>.
    /// </summary>
    /// <exception cref="AddressInUseException">A listener is already bound to <paramref name="endpoint"/>.</exception>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        cancellationToken.ThrowIfCancellationRequested();

        if (endpoint is IPEndPoint { Port: 0 } ipEndPoint)
        {
            // Retry until an unused synthetic port is found (there are 16384 of them per address).
            for (var attempt = FirstDynamicPort; attempt <= LastDynamicPort; attempt++)
            {
                var candidate = new IPEndPoint(ipEndPoint.Address, NextPort());
                var listener = new MemoryConnectionListener(this, candidate);
                if (_listeners.TryAdd(candidate, listener))
                {
                    return new ValueTask<IConnectionListener>(listener);
                }
            }

            throw new AddressInUseException("The memory transport ran out of synthetic ports.");
        }

        var bound = new MemoryConnectionListener(this, endpoint);
        if (!_listeners.TryAdd(endpoint, bound))
        {
            throw new AddressInUseException($"A memory listener is already bound to {endpoint}.");
        }

        return new ValueTask<IConnectionListener>(bound);
    }

    /// <summary>
    /// Connects to the listener bound to <paramref name="endpoint"/> and returns the client side of the pair.
    /// </summary>
    /// <exception cref="SocketException">No listener is bound there (<see cref="SocketError.ConnectionRefused"/>).</exception>
    public ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        cancellationToken.ThrowIfCancellationRequested();

        if (!_listeners.TryGetValue(endpoint, out var listener))
        {
            throw new SocketException((int)SocketError.ConnectionRefused);
        }

        var clientEndPoint = CreateClientEndPoint(listener.EndPoint);
        var (client, server) = MemoryConnection.CreatePair(clientEndPoint, listener.EndPoint);
        if (!listener.TryEnqueue(server))
        {
            // Unbound between the lookup and the enqueue: the same answer a closed port gives.
            client.Abort(new ConnectionAbortedException("The connection was refused."));
            server.Abort(new ConnectionAbortedException("The connection was refused."));
            throw new SocketException((int)SocketError.ConnectionRefused);
        }

        return new ValueTask<ConnectionContext>(client);
    }

    internal void Unregister(MemoryConnectionListener listener) =>
        _listeners.TryRemove(new KeyValuePair<EndPoint, MemoryConnectionListener>(listener.EndPoint, listener));

    private int NextPort()
    {
        var range = LastDynamicPort - FirstDynamicPort + 1;
        var next = Interlocked.Increment(ref _nextPort);
        return FirstDynamicPort + (int)((uint)(next - FirstDynamicPort) % (uint)range);
    }

    private EndPoint CreateClientEndPoint(EndPoint serverEndPoint)
    {
        if (serverEndPoint is IPEndPoint ip)
        {
            // A client of a wildcard listener appears to come from loopback, like a local TCP client would.
            var address = ip.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
                : ip.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
                : ip.Address;
            return new IPEndPoint(address, NextPort());
        }

        return new MemoryEndPoint($"memory-client:{NextPort()}");
    }
}
