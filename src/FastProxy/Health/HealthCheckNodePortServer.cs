using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FastProxy.Catalog;
using FastProxy.Diagnostics;
using FastProxy.Model;
using Microsoft.Extensions.Logging;

namespace FastProxy.Health;

/// <summary>
/// kube-proxy's service health server: for every service with a health-check node port, a small HTTP server
/// on each node address that answers any request with the number of this node's ready, healthy endpoints
/// (200 when there is one, 503 when there is none) in kube-proxy's JSON, so an external load balancer sends
/// a Local service's traffic only to nodes that can serve it. Reconciled with each catalog version.
/// </summary>
internal sealed partial class HealthCheckNodePortServer : IAsyncDisposable
{
    private const int MaxRequestBytes = 8 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _sync = new();
    private readonly ServiceCatalog _catalog;
    private readonly ILogger _logger;
    private readonly Dictionary<IPEndPoint, Listener> _listeners = [];
    private readonly Dictionary<NamespacedName, IPEndPoint[]> _byService = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly CatalogVersionGate _versions = new();
    private bool _disposed;

    public HealthCheckNodePortServer(ServiceCatalog catalog, ILogger logger)
    {
        _catalog = catalog;
        _logger = logger;
    }

    /// <summary>The addresses listening now.</summary>
    public IReadOnlyList<IPEndPoint> EndPoints
    {
        get
        {
            lock (_sync)
            {
                return [.. _listeners.Keys];
            }
        }
    }

    /// <summary>
    /// Reconciles with every service of <paramref name="snapshot"/>, or of a newer version published since: the
    /// current one is read under the lock, and a version already applied (a change notified first) is skipped.
    /// </summary>
    public void ApplyAll(CatalogSnapshot snapshot)
    {
        lock (_sync)
        {
            snapshot = CatalogVersionGate.Newest(snapshot, _catalog);
            Reconcile(_versions.Advance(snapshot, everyService: true, _byService.Keys), snapshot);
        }
    }

    /// <summary>Reconciles with the services a new version changed. Called from the catalog's Changed event.</summary>
    public void ApplyChanges(CatalogSnapshot snapshot)
    {
        lock (_sync)
        {
            // A health-only rebuild changes no port or address; skipping it keeps a port that failed to bind from
            // being retried, and its error logged, on every health flap. The service's next real change retries it.
            Reconcile(_versions.Advance(snapshot, everyService: false, _byService.Keys, ownChangesIrrelevant: _catalog.IsRouteRefresh(snapshot)), snapshot);
        }
    }

    private void Reconcile(IReadOnlyCollection<NamespacedName> ids, CatalogSnapshot snapshot)
    {
        if (_disposed)
        {
            return;
        }

        // Closes first, so a port one service gives up and another takes in the same version is free again.
        var wanted = new List<(NamespacedName Id, IPEndPoint[] EndPoints)>();
        foreach (var id in ids)
        {
            var port = snapshot.Services.TryGetValue(id, out var service) ? service.HealthCheckNodePort : 0;
            IPEndPoint[] endPoints = port == 0 ? [] : [.. _catalog.NodeAddresses.Select(address => new IPEndPoint(address, port))];
            var old = _byService.GetValueOrDefault(id) ?? [];
            foreach (var endPoint in old.Except(endPoints))
            {
                Close(endPoint);
            }

            wanted.Add((id, endPoints));
        }

        foreach (var (id, endPoints) in wanted)
        {
            var open = new List<IPEndPoint>();
            foreach (var endPoint in endPoints)
            {
                if (_listeners.ContainsKey(endPoint) || Open(id, endPoint))
                {
                    open.Add(endPoint);
                }
            }

            if (open.Count == 0)
            {
                _byService.Remove(id);
            }
            else
            {
                _byService[id] = [.. open];
            }
        }
    }

    private bool Open(NamespacedName id, IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endPoint);
            socket.Listen(64);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            Log.BindFailed(_logger, id.ToString(), endPoint, ex.SocketErrorCode.ToString());
            return false;
        }

        var listener = new Listener(id, socket);
        listener.AcceptLoop = AcceptLoopAsync(listener);
        _listeners[endPoint] = listener;
        Log.Started(_logger, id.ToString(), endPoint);
        return true;
    }

    private void Close(IPEndPoint endPoint)
    {
        if (_listeners.Remove(endPoint, out var listener))
        {
            listener.Socket.Dispose();
            Log.Stopped(_logger, listener.Service.ToString(), endPoint);
        }
    }

    private async Task AcceptLoopAsync(Listener listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.Socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(client, listener.Service);
        }
    }

    private async Task ServeAsync(Socket client, NamespacedName service)
    {
        using (client)
        {
            using var timeout = new CancellationTokenSource(RequestTimeout, _catalog.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stop.Token);
            var buffer = ArrayPool<byte>.Shared.Rent(MaxRequestBytes);
            try
            {
                // Any method and path get the answer, as from kube-proxy; only the end of the headers is awaited.
                var length = 0;
                while (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
                {
                    if (length == MaxRequestBytes)
                    {
                        return;
                    }

                    var read = await client.ReceiveAsync(buffer.AsMemory(length, MaxRequestBytes - length), SocketFlags.None, linked.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                }

                await client.SendAsync(Response(service, LocalEndpoints(service)), SocketFlags.None, linked.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                Log.RequestFailed(_logger, service.ToString(), ex.GetType().Name);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>This node's endpoints of the service that take external traffic: ready, healthy, in the External (Local) route; by address, over all ports.</summary>
    internal int LocalEndpoints(NamespacedName id)
    {
        if (!_catalog.Current.Services.TryGetValue(id, out var service))
        {
            return 0;
        }

        var addresses = new HashSet<IPAddress>();
        foreach (var port in service.Ports)
        {
            foreach (var endpoint in port.External.Endpoints)
            {
                if (endpoint.Conditions.Ready && endpoint.Health == EndpointHealth.Healthy)
                {
                    addresses.Add(endpoint.EndPoint.Address);
                }
            }
        }

        return addresses.Count;
    }

    /// <summary>kube-proxy's answer: headers and indented JSON, <c>Connection: close</c>.</summary>
    internal static byte[] Response(NamespacedName service, int localEndpoints)
    {
        var body = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(body, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("service");
            json.WriteString("namespace", service.Namespace);
            json.WriteString("name", service.Name);
            json.WriteEndObject();
            json.WriteNumber("localEndpoints", localEndpoints);
            json.WriteBoolean("serviceProxyHealthy", true);
            json.WriteEndObject();
        }

        var status = localEndpoints > 0 ? "200 OK" : "503 Service Unavailable";
        var head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nX-Load-Balancing-Endpoint-Weight: {localEndpoints}\r\nContent-Length: {body.WrittenCount}\r\nConnection: close\r\n\r\n");
        return [.. head, .. body.WrittenSpan];
    }

    public async ValueTask DisposeAsync()
    {
        Task[] loops;
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            loops = [.. _listeners.Values.Select(static l => l.AcceptLoop)];
            foreach (var endPoint in _listeners.Keys.ToList())
            {
                Close(endPoint);
            }

            _byService.Clear();
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(loops).ConfigureAwait(false);
        _stop.Dispose();
    }

    private sealed class Listener(NamespacedName service, Socket socket)
    {
        public NamespacedName Service { get; } = service;

        public Socket Socket { get; } = socket;

        public Task AcceptLoop { get; set; } = Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.HealthCheckNodePortStarted, LogLevel.Information, "Service {Service}: health-check node port listening on {EndPoint}.", EventName = "HealthCheckNodePortStarted")]
        public static partial void Started(ILogger logger, string service, IPEndPoint endPoint);

        [LoggerMessage(EventIds.HealthCheckNodePortStopped, LogLevel.Information, "Service {Service}: health-check node port on {EndPoint} closed.", EventName = "HealthCheckNodePortStopped")]
        public static partial void Stopped(ILogger logger, string service, IPEndPoint endPoint);

        [LoggerMessage(EventIds.HealthCheckNodePortBindFailed, LogLevel.Error, "Service {Service}: cannot listen for health checks on {EndPoint} ({Error}); external load balancers will see this node as down.", EventName = "HealthCheckNodePortBindFailed")]
        public static partial void BindFailed(ILogger logger, string service, IPEndPoint endPoint, string error);

        [LoggerMessage(EventIds.HealthCheckNodePortRequestFailed, LogLevel.Debug, "Service {Service}: a health-check request ended early ({Error}).", EventName = "HealthCheckNodePortRequestFailed")]
        public static partial void RequestFailed(ILogger logger, string service, string error);
    }
}
