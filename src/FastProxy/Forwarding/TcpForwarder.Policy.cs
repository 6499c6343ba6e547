using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using FastProxy.Catalog;
using FastProxy.Connections;
using FastProxy.Diagnostics;
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
    /// until the queue timeout. On success the service slot is held until the connection ends.
    /// </summary>
    private async ValueTask<(ConnectionContext? Upstream, EndpointState? Endpoint, bool Full)> ConnectWithinLimitsAsync(ConnectionContext client, PortRoute route, ConnectionGate gate, CancellationToken shutdown)
    {
        var policy = route.Policy;
        var holding = false;
        long? queuedAt = null;
        while (true)
        {
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

                    return (upstream, endpoint, false);
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
                queuedAt = _time.GetTimestamp();
                _metrics.Queued(route);
                Log.ConnectionQueued(_logger, route.Service, client.RemoteEndPoint, limit);
            }

            var remaining = policy.QueueTimeout - _time.GetElapsedTime(queuedAt.Value);
            var woken = remaining > TimeSpan.Zero
                ? await gate.WaitAsync(seen, policy.QueueLimit, remaining, _time, shutdown).ConfigureAwait(false)
                : false;
            if (shutdown.IsCancellationRequested)
            {
                if (holding)
                {
                    gate.Exit();
                }

                return (null, null, true);
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

    private (ConnectionContext?, EndpointState?, bool) Refuse(ConnectionContext client, PortRoute route, ConnectionGate gate, bool holding, string reason, string why)
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

        return (null, null, true);
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
