using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using FastProxy.Catalog;
using FastProxy.Connections;
using FastProxy.Diagnostics;
using FastProxy.Listeners;
using FastProxy.Model;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastProxy.Forwarding;

/// <summary>The connection policy's part of forwarding: connection limits (reject or queue) and the PROXY protocol header sent to backends.</summary>
internal sealed partial class TcpForwarder
{
    // One gate per service with a limit, made on its first connection; a handful of counters per such service.
    private readonly ConcurrentDictionary<NamespacedName, ConnectionGate> _gates = new();
    private readonly TimeProvider _time;
    private readonly ConnectionSet _connections;
    private readonly LogThrottle _limitLog;

    /// <summary>
    /// Connects within the service's limits: takes a service slot, then an endpoint with room. When either is
    /// full, rejects, or (limit-action queue) waits for a connection of the service to end and tries again,
    /// until the queue timeout or until the client goes away. On success the service slot is held until the
    /// connection ends. Returns the route it connected by: after waiting, the listener's current one.
    /// </summary>
    /// <remarks>
    /// The slot stays in the gate of the service the connection was accepted for, even if its listener moved to
    /// another service meanwhile: the gate it entered is the one it must leave.
    /// </remarks>
    private async ValueTask<(ConnectionContext? Upstream, EndpointState? Endpoint, bool Full, PortRoute Route)> ConnectWithinLimitsAsync(ConnectionContext client, PortRoute route, ConnectionGate gate, ServiceListener? listener, CancellationToken shutdown)
    {
        var holding = false;
        long? queuedAt = null;
        for (var round = 0; ; round++)
        {
            if (round > 0 && listener is not null)
            {
                // Woken after a wait: endpoints, limits and the queue timeout may have changed since it queued.
                route = listener.Route;
            }

            var policy = route.Policy;
            if (policy.MaxConnectionsPerEndpoint > 0 && policy.LimitAction == LimitAction.Queue)
            {
                // An in-process connection (ServiceConnector) that frees an endpoint slot wakes this gate through
                // the port. Watched before Releases is read, so a slot freed from then on is never missed.
                route.Load.Watch(gate);
            }

            var seen = gate.Releases;
            holding = holding || gate.TryEnter(policy.MaxConnections);
            var endpointLimit = false;
            if (holding)
            {
                var (upstream, endpoint, full) = await ConnectAsync(client, route, shutdown).ConfigureAwait(false);
                if (!full)
                {
                    if (upstream is null)
                    {
                        gate.Exit();
                    }

                    return (upstream, endpoint, false, route);
                }

                endpointLimit = true;
            }

            var limit = endpointLimit ? "max-connections-per-endpoint" : "max-connections";
            if (policy.LimitAction == LimitAction.Reject)
            {
                return Refuse(client, route, gate, holding, "limit", $"{limit} reached");
            }

            if (queuedAt is null)
            {
                // The client's ConnectionClosed fires only once something watches its socket: the socket transport
                // starts its loops (which see a reset) on the first use of Transport. So a queued connection starts
                // them, and is then forwarded through the pipes rather than the socket relay (which needs an
                // untouched socket): only connections that had to wait pay for that.
                _ = client.Transport;
                queuedAt = _time.GetTimestamp();
                _metrics.Queued(route);
                Log.ConnectionQueued(_logger, route.Service, client.RemoteEndPoint, limit);
            }

            var remaining = policy.QueueTimeout - _time.GetElapsedTime(queuedAt.Value);
            var woken = remaining > TimeSpan.Zero
                ? await gate.WaitAsync(seen, policy.QueueLimit, remaining, _time, shutdown, client.ConnectionClosed).ConfigureAwait(false)
                : false;
            if (shutdown.IsCancellationRequested || client.ConnectionClosed.IsCancellationRequested)
            {
                // Shutting down, or the client gave up (reset): its place and its slot go to the next one, and no
                // backend is connected for it.
                if (holding)
                {
                    gate.Exit();
                }

                return (null, null, true, route);
            }

            if (woken is null)
            {
                return Refuse(client, route, gate, holding, "queue_full", $"{limit} reached and {policy.QueueLimit} connection(s) already queued");
            }

            if (woken == false)
            {
                return Refuse(client, route, gate, holding, "queue_timeout", $"{limit} reached and no slot freed within the queue timeout of {policy.QueueTimeout}");
            }
        }
    }

    /// <summary>The service was deleted: its gate goes (a connection still holding a slot leaves the gate object it entered).</summary>
    public void OnServiceRemoved(NamespacedName service) => _gates.TryRemove(service, out _);

    private (ConnectionContext?, EndpointState?, bool, PortRoute) Refuse(ConnectionContext client, PortRoute route, ConnectionGate gate, bool holding, string reason, string why)
    {
        if (holding)
        {
            gate.Exit();
        }

        _metrics.Refused(route, reason);
        if (_limitLog.ShouldLog(out var suppressed))
        {
            if (reason == "queue_timeout")
            {
                Log.QueueTimedOut(_logger, route.Service, client.RemoteEndPoint, why, suppressed);
            }
            else
            {
                Log.LimitRejected(_logger, route.Service, client.RemoteEndPoint, why, suppressed);
            }
        }

        return (null, null, true, route);
    }

    /// <summary>
    /// Writes the PROXY header as the first bytes to the backend, before the relay starts: one small send on a
    /// fresh socket, whose empty send buffer takes it at once (no round trip, no allocation).
    /// </summary>
    private static void SendProxyHeader(Socket upstream, ProxyProtocolVersion version, ConnectionContext client)
    {
        Span<byte> header = stackalloc byte[ProxyHeaderWriter.MaxLength];
        var length = ProxyHeaderWriter.Write(header, version, client.RemoteEndPoint, client.LocalEndPoint);
        var sent = 0;
        while (sent < length)
        {
            sent += upstream.Send(header[sent..length]);
        }
    }

    private static async ValueTask SendProxyHeaderAsync(ConnectionContext upstream, ProxyProtocolVersion version, ConnectionContext client)
    {
        var output = upstream.Transport.Output;
        var length = ProxyHeaderWriter.Write(output.GetSpan(ProxyHeaderWriter.MaxLength), version, client.RemoteEndPoint, client.LocalEndPoint);
        output.Advance(length);
        await output.FlushAsync().ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.LimitRejected, LogLevel.Warning, "Service {Service}: connection from {Client} reset, {Why} ({Suppressed} more not logged since the last line).", EventName = "LimitRejected")]
        public static partial void LimitRejected(ILogger logger, NamespacedName service, EndPoint? client, string why, int suppressed);

        [LoggerMessage(EventIds.ConnectionQueued, LogLevel.Debug, "Service {Service}: connection from {Client} queued, {Limit} reached.", EventName = "ConnectionQueued")]
        public static partial void ConnectionQueued(ILogger logger, NamespacedName service, EndPoint? client, string limit);

        [LoggerMessage(EventIds.QueueTimedOut, LogLevel.Warning, "Service {Service}: queued connection from {Client} reset, {Why} ({Suppressed} more not logged since the last line).", EventName = "QueueTimedOut")]
        public static partial void QueueTimedOut(ILogger logger, NamespacedName service, EndPoint? client, string why, int suppressed);
    }
}
