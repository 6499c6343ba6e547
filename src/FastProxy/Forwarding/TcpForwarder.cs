using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FastProxy.Affinity;
using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Connections;
using FastProxy.Listeners;
using FastProxy.Model;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastProxy.Forwarding;

/// <summary>
/// The TCP hot path: pick an endpoint, connect (with timeout, retrying another endpoint), then copy
/// both directions until both have ended, passing each FIN and each reset on to the other side.
/// </summary>
internal sealed partial class TcpForwarder
{
    private readonly IConnectionFactory _upstream;
    private readonly ProxyServerOptions _options;
    private readonly ILogger _logger;
    private readonly Diagnostics.ProxyMetrics _metrics;
    private readonly ConnectTimeouts _connectTimeouts = new();

    public TcpForwarder(IConnectionFactory upstream, ProxyServerOptions options, ILogger logger, Diagnostics.ProxyMetrics metrics, TimeProvider? time = null, ConnectionSet? connections = null)
    {
        _upstream = upstream;
        _options = options;
        _logger = logger;
        _metrics = metrics;
        _time = time ?? TimeProvider.System;
        _connections = connections ?? new ConnectionSet();
        _limitLog = new LogThrottle(_time, TimeSpan.FromSeconds(1));
    }

    /// <summary>Forwards one accepted client connection for <paramref name="route"/>. Never throws; the caller disposes the client.</summary>
    public async Task ForwardAsync(ConnectionContext client, PortRoute route, CancellationToken shutdown, ServiceListener? listener = null)
    {
        var gate = route.Policy.HasLimits ? _gates.GetOrAdd(route.Service, static _ => new ConnectionGate()) : null;
        ConnectionContext? upstream;
        EndpointState? endpoint;
        bool full;
        if (gate is null)
        {
            (upstream, endpoint, full) = await ConnectAsync(client, route, shutdown).ConfigureAwait(false);
        }
        else
        {
            // A queued connection re-reads its listener's route when it wakes: it is forwarded by that one.
            (upstream, endpoint, full, route) = await ConnectWithinLimitsAsync(client, route, gate, listener, shutdown).ConfigureAwait(false);
        }

        if (upstream is null || endpoint is null)
        {
            // An L4 balancer with nowhere to send a connection refuses it the way a closed port does: a reset.
            client.Abort(new ConnectionAbortedException(full ? "Connection limit reached." : "No endpoint could be reached."));
            return;
        }

        // Known to its endpoint and its listener (drain policy) and to the server (idle scan) while it runs.
        var policy = route.Policy;
        var connection = new ForwardedConnection(client, upstream, endpoint, route, listener, policy.IdleTimeout ?? _options.IdleTimeout, _time.GetTimestamp());
        var refused = endpoint.Connections.Add(connection);
        if (listener is not null)
        {
            var byListener = listener.Connections.Add(connection);
            refused = refused == Termination.None ? byListener : refused;
        }

        _connections.Add(connection);
        try
        {
            if (refused != Termination.None)
            {
                // Its endpoint left or its listener was removed while it was in flight (reading a PROXY header,
                // connecting, queued), and the drain policy closed that set (close, or drain past its deadline):
                // reset like the rest of its connections.
                connection.Terminate(refused, refused == Termination.ClosePolicy
                    ? "The endpoint left its service or the listener was removed (drain policy close)."
                    : "The drain deadline passed (drain policy drain).");
                _metrics.Terminated(route, refused);
                return;
            }

            CloseReason toReason, fromReason;
            if (_options.UseSocketRelay && SocketRelay.TryClaim(client, upstream, out var clientSocket, out var upstreamSocket))
            {
                if (policy.SendProxyProtocol != Model.ProxyProtocolVersion.None)
                {
                    SendProxyHeader(upstreamSocket.Socket, policy.SendProxyProtocol, client);
                }

                if (_options.UseEpollRelay && OperatingSystem.IsLinux() && EpollRelay.IsSupported)
                {
                    (toReason, fromReason) = await EpollRelay.RunAsync(clientSocket, upstreamSocket, connection, _options.UseSplice).ConfigureAwait(false);
                }
                else
                {
                    var toEndpoint = SocketRelay.CopyAsync(clientSocket, upstreamSocket, connection, toEndpoint: true, _options.UseSplice);
                    var fromEndpoint = SocketRelay.CopyAsync(upstreamSocket, clientSocket, connection, toEndpoint: false, _options.UseSplice);
                    toReason = await toEndpoint.ConfigureAwait(false);
                    fromReason = await fromEndpoint.ConfigureAwait(false);
                }
            }
            else
            {
                if (policy.SendProxyProtocol != Model.ProxyProtocolVersion.None)
                {
                    await SendProxyHeaderAsync(upstream, policy.SendProxyProtocol, client).ConfigureAwait(false);
                }

                var toEndpoint = CopyAsync(client, upstream, connection, toEndpoint: true);
                var fromEndpoint = CopyAsync(upstream, client, connection, toEndpoint: false);
                toReason = await toEndpoint.ConfigureAwait(false);
                fromReason = await fromEndpoint.ConfigureAwait(false);
            }

            endpoint.HealthTracker?.OnConnectionEnded(resetByEndpoint: fromReason == CloseReason.Reset);
            Log.ConnectionClosed(_logger, client.RemoteEndPoint, endpoint.EndPoint, toReason, fromReason);
        }
        catch (Exception ex)
        {
            Log.ForwardingFailed(_logger, client.RemoteEndPoint, endpoint.EndPoint, ex);
            client.Abort(new ConnectionAbortedException("Forwarding failed.", ex));
            upstream.Abort(new ConnectionAbortedException("Forwarding failed.", ex));
        }
        finally
        {
            connection.Finish();
            _connections.Remove(connection);
            endpoint.Connections.Remove(connection);
            listener?.Connections.Remove(connection);
            endpoint.OnConnectionClosed();
            gate?.Exit();
            await upstream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Connects to an endpoint of <paramref name="route"/>; <c>Full</c> when every endpoint it may use is at
    /// the service's per-endpoint limit (a full endpoint is skipped like a failed one, costing no attempt).
    /// </summary>
    private async ValueTask<(ConnectionContext? Upstream, EndpointState? Endpoint, bool Full)> ConnectAsync(ConnectionContext client, PortRoute route, CancellationToken shutdown)
    {
        var picker = route.Picker;
        if (picker is null)
        {
            Log.NoEndpoints(_logger, route.Service, route.Port.Port, client.RemoteEndPoint);
            return (null, null, false);
        }

        var perEndpoint = route.Policy.MaxConnectionsPerEndpoint;
        var connectTimeout = route.Policy.ConnectTimeout ?? _options.ConnectTimeout;
        var fullLimit = Math.Min(route.Endpoints.Length, ProxyServerOptions.MaxConnectAttempts);
        var full = 0;

        var remote = client.RemoteEndPoint;
        var context = PickContext.ForClient(remote);
        var affinity = route.Affinity;
        var clientAddress = affinity is null ? default : ClientAddress.From(remote);
        var attempts = Math.Min(_options.ConnectAttempts, route.Endpoints.Length);
        var budget = new ConnectBudget(_options.ConnectTotalTimeout);
        var tried = default(TriedEndpoints);
        var attempt = 0;
        while (attempt < attempts)
        {
            if (!budget.TryNextAttempt(connectTimeout, out var attemptTimeout, out var cutByBudget))
            {
                break;
            }

            var endpoint = EndpointChoice.Choose(route, picker, context, affinity, clientAddress, ref tried);
            context = context.NextAttempt();
            if (!endpoint.TryOnConnecting(perEndpoint))
            {
                if (++full >= fullLimit)
                {
                    return (null, null, true);
                }

                continue;
            }

            attempt++;
            using var timeout = _connectTimeouts.Start(attemptTimeout, shutdown);

            var attemptStarted = Stopwatch.GetTimestamp();
            try
            {
                var upstream = await _upstream.ConnectAsync(endpoint.EndPoint, timeout.Token).ConfigureAwait(false);
                endpoint.OnConnected();
                _metrics.ConnectFinished(route, Stopwatch.GetElapsedTime(attemptStarted).TotalSeconds, succeeded: true);
                return (upstream, endpoint, false);
            }
            catch (OperationCanceledException) when (shutdown.IsCancellationRequested || cutByBudget)
            {
                // We stopped waiting (shutdown, or the total budget ran out), not the endpoint's fault:
                // no failure counted, its affinity entries kept.
                endpoint.OnConnectionClosed();
                if (shutdown.IsCancellationRequested)
                {
                    return (null, null, false);
                }

                break;
            }
#pragma warning disable CA1031 // Any failure of this connect, also from a user IConnectionFactory, is this endpoint's: the next one is tried.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                endpoint.OnConnectFailed();
                _metrics.ConnectFinished(route, Stopwatch.GetElapsedTime(attemptStarted).TotalSeconds, succeeded: false);

                // A client whose endpoint fails is re-picked, and sticks to whichever endpoint answers.
                affinity?.Forget(clientAddress, endpoint);
                if (shutdown.IsCancellationRequested)
                {
                    return (null, null, false);
                }

                Log.ConnectFailed(_logger, endpoint.EndPoint, route.Service, ex is OperationCanceledException ? $"timed out after {attemptTimeout.TotalMilliseconds:0} ms" : ex.Message);
            }
        }

        Log.AllConnectAttemptsFailed(_logger, route.Service, route.Port.Port, attempt, remote);
        return (null, null, false);
    }

    /// <summary>Copies one direction until its sender finishes, then passes the FIN (or the reset) on.</summary>
    private static async Task<CloseReason> CopyAsync(ConnectionContext source, ConnectionContext destination, ForwardedConnection connection, bool toEndpoint)
    {
        var input = source.Transport.Input;
        var output = destination.Transport.Output;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                var length = buffer.Length;
                if (length > 0)
                {
                    foreach (var segment in buffer)
                    {
                        output.Write(segment.Span);
                    }
                }

                // The bytes now live in the destination's pipe, so the source's memory can go back at once.
                input.AdvanceTo(buffer.End);
                if (length > 0)
                {
                    connection.AddBytes(toEndpoint, length);

                    // Respecting the flush is the backpressure: a slow receiver stops us reading the fast sender.
                    var flush = await output.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        // The destination stopped taking data (it closed or was aborted): nothing more can be delivered.
                        source.Abort(new ConnectionAbortedException("The other side of the proxied connection closed."));
                        return CloseReason.ReceiverClosed;
                    }
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    // A FIN from the sender becomes a FIN to the receiver; the other direction keeps flowing.
                    await output.CompleteAsync().ConfigureAwait(false);
                    return CloseReason.EndOfStream;
                }
            }
        }
        catch (ConnectionResetException ex)
        {
            // Pass a reset on as a reset, as a kernel L4 balancer would.
            destination.Abort(new ConnectionAbortedException("The other side of the proxied connection was reset.", ex));
            return CloseReason.Reset;
        }
        catch (Exception ex) when (ex is ConnectionAbortedException or IOException or SocketException or OperationCanceledException or InvalidOperationException)
        {
            destination.Abort(new ConnectionAbortedException("The other side of the proxied connection was aborted.", ex));
            return CloseReason.Aborted;
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }
}
