using System.Net;
using FastProxy.Diagnostics;
using FastProxy.Listeners;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastProxy.Connections;

/// <summary>
/// For listeners whose service accepts the PROXY protocol (it sits behind another load balancer): reads the
/// header before anything else sees the connection, makes its source and destination the connection's
/// <see cref="BaseConnectionContext.RemoteEndPoint"/> and <see cref="BaseConnectionContext.LocalEndPoint"/>
/// (so affinity, logs, middleware and the header sent onward all see the real client), then checks the
/// service's source ranges against that real client. A malformed, late or missing header resets the connection.
/// </summary>
internal sealed partial class ProxyHeaderAcceptor
{
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ProxyMetrics _metrics;
    private readonly LogThrottle _log;

    public ProxyHeaderAcceptor(TimeSpan timeout, TimeProvider time, ILogger logger, ProxyMetrics metrics)
    {
        _timeout = timeout;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _log = new LogThrottle(time, TimeSpan.FromSeconds(1));
    }

    /// <summary>True when the connection may be forwarded; otherwise it has been reset and logged.</summary>
    public async Task<bool> AcceptAsync(ConnectionContext connection, ServiceListener listener, CancellationToken shutdown)
    {
        var client = connection.RemoteEndPoint;
        ProxyHeaderStatus status;
        ProxyHeader header;
        string? error;
        using (var deadline = new CancellationTokenSource(_timeout, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, shutdown))
        {
            try
            {
                (status, header, error) = await ProxyHeaderReader.ReadAsync(connection, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                (status, header, error) = (ProxyHeaderStatus.Invalid, default, $"no complete header within {_timeout}");
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException or IOException or ConnectionAbortedException or ConnectionResetException)
            {
                (status, header, error) = (ProxyHeaderStatus.Invalid, default, $"reading the header failed: {ex.Message}");
            }
        }

        if (status != ProxyHeaderStatus.Complete)
        {
            Refuse(connection, listener, "proxy_header", "PROXY protocol header rejected");
            if (_log.ShouldLog(out var suppressed))
            {
                Log.ProxyHeaderRejected(_logger, client, listener.Key, error ?? "malformed", suppressed);
            }

            return false;
        }

        if (header.Source is { } source)
        {
            connection.RemoteEndPoint = source;
            connection.LocalEndPoint = header.Destination;
        }

        if (!listener.Admits(connection.RemoteEndPoint))
        {
            Refuse(connection, listener, "source_range", "Client address outside the service's loadBalancerSourceRanges.");
            Log.ProxyHeaderSourceRefused(_logger, connection.RemoteEndPoint, client, listener.Key);
            return false;
        }

        return true;
    }

    private void Refuse(ConnectionContext connection, ServiceListener listener, string reason, string message)
    {
        _metrics.Refused(listener.Route, reason);
        connection.Abort(new ConnectionAbortedException(message));
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.ProxyHeaderRejected, LogLevel.Warning, "Connection from {Client} on {Listener} reset: bad PROXY protocol header ({Reason}) ({Suppressed} more not logged since the last line).", EventName = "ProxyHeaderRejected")]
        public static partial void ProxyHeaderRejected(ILogger logger, EndPoint? client, ListenerKey listener, string reason, int suppressed);

        [LoggerMessage(EventIds.ProxyHeaderSourceRefused, LogLevel.Debug, "Refused {Client} (PROXY header, via {Peer}) on {Listener}: outside the service's loadBalancerSourceRanges.", EventName = "ProxyHeaderSourceRefused")]
        public static partial void ProxyHeaderSourceRefused(ILogger logger, EndPoint? client, EndPoint? peer, ListenerKey listener);
    }
}
