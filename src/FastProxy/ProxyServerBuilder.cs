using System.Diagnostics.Metrics;
using FastProxy.Catalog;
using FastProxy.Transport.Memory;
using FastProxy.Transport.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy;

/// <summary>
/// Assembles a <see cref="ProxyServer"/> in Bedrock's style: pick a transport, add connection
/// middleware, configure, build.
/// </summary>
public sealed class ProxyServerBuilder
{
    private readonly List<Func<ConnectionDelegate, ConnectionDelegate>> _middleware = [];
    private readonly ProxyServerOptions _options = new();
    private IConnectionListenerFactory? _listenerFactory;
    private IConnectionFactory? _connectionFactory;
    private ILoggerFactory _loggerFactory = NullLoggerFactory.Instance;
    private IMeterFactory? _meterFactory;
    private SocketTransportOptions? _socketOptions;

    /// <summary>Starts a builder for a server that follows <paramref name="catalog"/>.</summary>
    /// <param name="catalog">The services and pods to serve.</param>
    public ProxyServerBuilder(ServiceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        Catalog = catalog;
    }

    /// <summary>The catalog the server will follow.</summary>
    public ServiceCatalog Catalog { get; }

    /// <summary>
    /// Listens and connects with FastProxy's socket transport (TCP half-close, pooled pinned memory,
    /// zero-byte reads). This is the default when no transport is chosen.
    /// </summary>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder UseSockets() => UseSockets(new SocketTransportOptions());

    /// <summary>Listens and connects with FastProxy's socket transport and the given settings.</summary>
    /// <param name="options">Transport settings.</param>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder UseSockets(SocketTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _socketOptions = options;
        _listenerFactory = null;
        _connectionFactory = null;
        return this;
    }

    /// <summary>Listens and connects with FastProxy's socket transport, configured by <paramref name="configure"/>.</summary>
    /// <param name="configure">Changes the transport settings.</param>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder UseSockets(Action<SocketTransportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new SocketTransportOptions();
        configure(options);
        return UseSockets(options);
    }

    /// <summary>Listens and connects in memory, for tests: virtual IPs and pods are endpoints of <paramref name="transport"/>.</summary>
    /// <param name="transport">The in-memory network shared with the test's clients and backends.</param>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder UseMemoryTransport(MemoryTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return UseListenerFactory(transport).UseConnectionFactory(transport);
    }

    /// <summary>Sets how virtual IPs are listened on.</summary>
    /// <param name="listenerFactory">The listener side of a transport.</param>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder UseListenerFactory(IConnectionListenerFactory listenerFactory)
    {
        ArgumentNullException.ThrowIfNull(listenerFactory);
        _listenerFactory = listenerFactory;
        return this;
    }

    /// <summary>Sets how endpoints are connected to.</summary>
    /// <param name="connectionFactory">The client side of a transport.</param>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder UseConnectionFactory(IConnectionFactory connectionFactory)
    {
        ArgumentNullException.ThrowIfNull(connectionFactory);
        _connectionFactory = connectionFactory;
        return this;
    }

    /// <summary>Sets the logger factory. Defaults to no logging.</summary>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _loggerFactory = loggerFactory;
        return this;
    }

    /// <summary>
    /// Creates the server's meter from the host's factory (dependency injection), so hosts that collect
    /// metrics per factory see it. Without one, the server creates and disposes its own meter named
    /// <see cref="ProxyServer.MeterName"/>.
    /// </summary>
    /// <param name="meterFactory">The factory.</param>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder UseMeterFactory(IMeterFactory meterFactory)
    {
        _meterFactory = meterFactory ?? throw new ArgumentNullException(nameof(meterFactory));
        return this;
    }

    /// <summary>Changes forwarding settings.</summary>
    /// <param name="configure">Called once with the options.</param>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder Configure(Action<ProxyServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(_options);
        return this;
    }

    /// <summary>
    /// Adds connection middleware, run for every accepted client connection before it is forwarded;
    /// the first added runs outermost. Middleware may inspect or wrap the connection, or end it by not
    /// calling the next delegate.
    /// </summary>
    /// <param name="middleware">Takes the next delegate, returns the one to run.</param>
    /// <returns>This builder.</returns>
    public ProxyServerBuilder Use(Func<ConnectionDelegate, ConnectionDelegate> middleware)
    {
        ArgumentNullException.ThrowIfNull(middleware);
        _middleware.Add(middleware);
        return this;
    }

    /// <summary>Builds the server; start it with <see cref="ProxyServer.StartAsync"/>. Without a chosen transport, sockets are used.</summary>
    /// <returns>The server.</returns>
    public ProxyServer Build()
    {
        _options.Validate();
        var sockets = _listenerFactory is null || _connectionFactory is null ? _socketOptions ?? new SocketTransportOptions() : null;
        var listenerFactory = _listenerFactory ?? new SocketConnectionListenerFactory(sockets, _loggerFactory);
        var connectionFactory = _connectionFactory ?? new SocketConnectionFactory(sockets, _loggerFactory);
        return new ProxyServer(Catalog, listenerFactory, connectionFactory, _options, _loggerFactory, _meterFactory, [.. _middleware]);
    }
}
