using FastProxy.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using FastProxy.Catalog;
using FastProxy.Connections;
using FastProxy.Forwarding;
using FastProxy.Listeners;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastProxy;

/// <summary>
/// The data plane: listens on every service's virtual IP and port, following the catalog, and
/// forwards each connection to an endpoint its service's strategy picks. Create one with
/// <see cref="ProxyServerBuilder"/>.
/// </summary>
public sealed partial class ProxyServer : IAsyncDisposable
{
    private readonly Func<ConnectionDelegate, ConnectionDelegate>[] _middleware;
    private readonly ProxyServerOptions _options;
    private readonly ILogger _logger;
    private readonly TcpForwarder _forwarder;
    private readonly ConnectionTracker _connections = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ListenerManager _listeners;
    private readonly Forwarding.Udp.UdpListenerSet _udp;
    private readonly Meter? _ownedMeter;
    private readonly Health.NetworkHealthProbe _healthProbe = new();
    private readonly Health.HealthMonitor _health;
    private readonly Health.HealthCheckNodePortServer _healthCheckNodePorts;
    private readonly ConnectionSet _forwarded = new();
    private readonly ConnectionDrainer _drainer;
    private readonly ProxyHeaderAcceptor _proxyHeaders;
    private readonly ProxyMetrics _metrics;
    private readonly ILoggerFactory _loggerFactory;
    private IdleScanner? _idleScanner;
    private int _state; // 0 created, 1 started, 2 stopping or stopped

    internal ProxyServer(
        ServiceCatalog catalog,
        IConnectionListenerFactory listenerFactory,
        IConnectionFactory connectionFactory,
        ProxyServerOptions options,
        ILoggerFactory loggerFactory,
        IMeterFactory? meterFactory,
        Func<ConnectionDelegate, ConnectionDelegate>[] middleware)
    {
        Catalog = catalog;
        _options = options;
        _middleware = middleware;
        _logger = loggerFactory.CreateLogger<ProxyServer>();

        // A meter from the host's factory is the host's to dispose; our own goes with the server.
        var meter = meterFactory?.Create(MeterName) ?? (_ownedMeter = new Meter(MeterName));
        var metrics = _metrics = new ProxyMetrics(meter, catalog, () => _connections.Count);
        _loggerFactory = loggerFactory;

        // Drains, queues, idle connections and header reads are timed by the catalog's clock (a fake one in tests).
        _forwarder = new TcpForwarder(connectionFactory, options, loggerFactory.CreateLogger<TcpForwarder>(), metrics, catalog.Time, _forwarded);
        _drainer = new ConnectionDrainer(catalog.Time, loggerFactory.CreateLogger<ConnectionDrainer>(), metrics);
        _proxyHeaders = new ProxyHeaderAcceptor(options.ProxyProtocolHeaderTimeout, catalog.Time, loggerFactory.CreateLogger<ProxyHeaderAcceptor>(), metrics);
        _udp = new Forwarding.Udp.UdpListenerSet(catalog.Time, loggerFactory.CreateLogger<Forwarding.Udp.UdpListenerSet>(), meter);
        _listeners = new ListenerManager(listenerFactory, OnConnection, loggerFactory.CreateLogger<ListenerManager>(), metrics, _drainer.OnListenerClosed, _udp);
        _health = new Health.HealthMonitor(catalog, _healthProbe, loggerFactory.CreateLogger<Health.HealthMonitor>(), new Health.HealthMetrics(meter, catalog));
        _healthCheckNodePorts = new Health.HealthCheckNodePortServer(catalog, loggerFactory.CreateLogger<Health.HealthCheckNodePortServer>());
    }

    /// <summary>
    /// The name of the <see cref="Meter"/> a server publishes its instruments on (connections, bytes and
    /// connect failures per endpoint, connect latency, catalog version; see docs/metrics.md).
    /// </summary>
    public const string MeterName = ProxyMetrics.MeterName;

    /// <summary>The catalog this server follows.</summary>
    public ServiceCatalog Catalog { get; }

    /// <summary>The virtual endpoints currently listening.</summary>
    public IReadOnlyList<EndPoint> ListeningEndPoints => _listeners.BoundEndPoints;

    /// <summary>The UDP listeners and their session tables (tests and diagnostics).</summary>
    internal Forwarding.Udp.UdpListenerSet Udp => _udp;

    /// <summary>Client connections currently open.</summary>
    public int ActiveConnections => _connections.Count;

    /// <summary>Binds a listener for every service port in the catalog and follows the catalog from then on.</summary>
    /// <param name="cancellationToken">Cancels waiting for the first binds; the server keeps starting.</param>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The server was already started.");
        }

        _idleScanner = new IdleScanner(_forwarded, Catalog.Time, _options.IdleScanInterval, _loggerFactory.CreateLogger<IdleScanner>(), _metrics);
        Catalog.Changed += OnCatalogChanged;
        _listeners.ApplyAll(() => Catalog.Current);
        _health.ApplyAll(Catalog.Current);
        _healthCheckNodePorts.ApplyAll(Catalog.Current);
        await _listeners.WhenAppliedAsync(Catalog.Current.Version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Completes when the listeners reflect catalog version <paramref name="catalogVersion"/> or later:
    /// new services are bound and removed ones are closed. Endpoint changes apply as soon as the
    /// catalog publishes them; only binds and unbinds take this long.
    /// </summary>
    /// <param name="catalogVersion">A version returned by a catalog update.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public Task WhenAppliedAsync(long catalogVersion, CancellationToken cancellationToken = default)
        => _listeners.WhenAppliedAsync(catalogVersion, cancellationToken);

    /// <summary>
    /// Stops gracefully: closes every listener, lets open connections finish until
    /// <see cref="ProxyServerOptions.ShutdownTimeout"/> or until <paramref name="cancellationToken"/>
    /// fires, then resets the rest.
    /// </summary>
    /// <param name="cancellationToken">Ends the grace period early.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            return;
        }

        Catalog.Changed -= OnCatalogChanged;
        await _listeners.CloseAllAsync().ConfigureAwait(false);
        await _health.DisposeAsync().ConfigureAwait(false);
        await _healthCheckNodePorts.DisposeAsync().ConfigureAwait(false);

        // Shutdown's own grace period takes over from drain deadlines and idle timeouts.
        _idleScanner?.Dispose();
        _drainer.Dispose();

        var drained = _connections.WhenDrainedAsync();
        try
        {
            await drained.WaitAsync(_options.ShutdownTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            Log.ShutdownAbortingConnections(_logger, _connections.Count);
            await _shutdown.CancelAsync().ConfigureAwait(false);
            _connections.AbortAll("The proxy is shutting down.");
            // Aborted connections finish quickly; the bound keeps a stuck transport from hanging shutdown.
            await drained.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Stops at once: like <see cref="StopAsync"/> with no grace period.</summary>
    public async ValueTask DisposeAsync()
    {
        using var noGrace = new CancellationTokenSource();
        await noGrace.CancelAsync().ConfigureAwait(false);
        try
        {
            await StopAsync(noGrace.Token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Connections the transport could not close within the bound are left to the GC.
        }

        _shutdown.Dispose();
        _healthProbe.Dispose();
        _ownedMeter?.Dispose();
    }

    private void OnCatalogChanged(object? sender, CatalogChangedEventArgs e)
    {
        // Routes first, so no new connection goes where the drain policy is about to act.
        _listeners.ApplyChanges(e.Snapshot);
        _drainer.OnCatalogChanged(e);
        foreach (var change in e.Changes)
        {
            if (!e.Snapshot.TryGetService(change.Service, out _))
            {
                _forwarder.OnServiceRemoved(change.Service);
            }
        }

        _health.ApplyChanges(e.Snapshot);
        _healthCheckNodePorts.ApplyChanges(e.Snapshot);
    }

    private void OnConnection(ConnectionContext connection, ServiceListener listener, bool readProxyHeader)
        => _ = RunConnectionAsync(connection, listener, readProxyHeader);

    /// <param name="connection">The accepted client.</param>
    /// <param name="listener">The listener that accepted it.</param>
    /// <param name="readProxyHeader">
    /// Decided once by the accept loop, which checked the source ranges only when false: reading the policy again
    /// here could see it flipped off, and the client would then pass unchecked.
    /// </param>
    private async Task RunConnectionAsync(ConnectionContext connection, ServiceListener listener, bool readProxyHeader)
    {
        _connections.Add(connection);
        try
        {
            // Behind another load balancer: the PROXY header is read before middleware, so everything sees the real client.
            if (readProxyHeader && !await _proxyHeaders.AcceptAsync(connection, listener, _shutdown.Token).ConfigureAwait(false))
            {
                return;
            }

            await BuildPipeline(listener)(connection).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.ConnectionMiddlewareFailed(_logger, connection.RemoteEndPoint, ex);
            connection.Abort(new ConnectionAbortedException("Connection middleware failed.", ex));
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            _connections.Remove(connection);
        }
    }

    private ConnectionDelegate BuildPipeline(ServiceListener listener)
    {
        if (listener.Pipeline is { } built)
        {
            return built;
        }

        // Built once per listener, so no connection allocates a delegate; the route is read per connection.
        ConnectionDelegate app = connection => _forwarder.ForwardAsync(connection, listener.Route, _shutdown.Token, listener);
        for (var i = _middleware.Length - 1; i >= 0; i--)
        {
            app = _middleware[i](app);
        }

        listener.Pipeline = app;
        return app;
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.ShutdownAbortingConnections, LogLevel.Warning, "Shutdown grace period over; resetting {Count} open connection(s).", EventName = "ShutdownAbortingConnections")]
        public static partial void ShutdownAbortingConnections(ILogger logger, int count);

        [LoggerMessage(EventIds.ConnectionMiddlewareFailed, LogLevel.Error, "Connection middleware failed for {Client}.", EventName = "ConnectionMiddlewareFailed")]
        public static partial void ConnectionMiddlewareFailed(ILogger logger, EndPoint? client, Exception exception);
    }
}
