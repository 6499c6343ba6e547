using FastProxy.Catalog;
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

    /// <summary>Starts a builder for a server that follows <paramref name="catalog"/>.</summary>
    /// <param name="catalog">The services and pods to serve.</param>
    public ProxyServerBuilder(ServiceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        Catalog = catalog;
    }

    /// <summary>The catalog the server will follow.</summary>
    public ServiceCatalog Catalog { get; }

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

    /// <summary>Builds the server; start it with <see cref="ProxyServer.StartAsync"/>.</summary>
    /// <returns>The server.</returns>
    public ProxyServer Build()
    {
        _options.Validate();
        var listenerFactory = _listenerFactory ?? throw new InvalidOperationException("No listener factory: call UseSockets() or UseListenerFactory().");
        var connectionFactory = _connectionFactory ?? throw new InvalidOperationException("No connection factory: call UseSockets() or UseConnectionFactory().");
        return new ProxyServer(Catalog, listenerFactory, connectionFactory, _options, _loggerFactory, [.. _middleware]);
    }
}
