using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using FastProxy.Affinity;
using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Forwarding;
using FastProxy.Model;

namespace FastProxy.Discovery;

/// <summary>
/// In-process client-side balancing: connects straight to one pod of a service, with no proxy in
/// between. The host is resolved through the catalog's current snapshot (<c>payments</c>,
/// <c>payments.default</c>, <c>payments.default.svc.cluster.local</c>, or the service's virtual IP),
/// the port is the service port, and the pod is chosen as the proxy would choose it: by the service's
/// strategy and session affinity, among the endpoints that take new connections, trying another pod when
/// a connect fails.
/// </summary>
/// <remarks>
/// <para>
/// Use it for <see cref="System.Net.Http.HttpClient"/> with
/// <c>new SocketsHttpHandler { ConnectCallback = connector.ConnectCallback }</c>: each new HTTP
/// connection is balanced; requests on a pooled connection stay on its pod, so set
/// <see cref="System.Net.Http.SocketsHttpHandler.PooledConnectionLifetime"/> to spread a long-lived
/// client over pods that come and go.
/// </para>
/// <para>
/// An open connection counts on its endpoint (<see cref="EndpointState.ActiveConnections"/>) until its
/// stream is disposed, so least-connections balancing sees in-process connections too, and the service's
/// <see cref="ConnectionPolicy.MaxConnectionsPerEndpoint"/> holds for them (a full endpoint is skipped; when
/// all are full the connect fails at once). For ClientIP
/// session affinity the whole process is one client. ExternalName services are followed to their
/// external name. A headless service without ports sends the connection to a ready pod at the port asked for.
/// </para>
/// </remarks>
public sealed class ServiceConnector
{
    // ExternalName services may name one another; a loop among them must end.
    private const int MaxAliasDepth = 8;

    // The process is one client for ClientIP affinity. The unspecified address stands for it: no proxied
    // client can have it as its source, so in-process and proxied clients never share an entry.
    private static readonly IPAddress ThisProcess = IPAddress.Any;
    private static readonly ClientAddress ThisProcessKey = ClientAddress.From(new IPEndPoint(ThisProcess, 0));

    private readonly ServiceCatalog _catalog;
    private readonly ServiceResolver _resolver;
    private readonly bool _fallbackToDns;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _connectTotalTimeout;
    private readonly int _connectAttempts;
    private int _connections;
    private int _portlessTurn;

    /// <summary>Creates a connector that follows <paramref name="catalog"/>: every connect reads its current snapshot.</summary>
    /// <param name="catalog">The services, pods and endpoints to connect to.</param>
    /// <param name="options">Name resolution and connect settings; defaults when null.</param>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public ServiceConnector(ServiceCatalog catalog, ServiceConnectorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        options ??= new ServiceConnectorOptions();
        options.Validate();
        _catalog = catalog;
        _resolver = new ServiceResolver(options.DefaultNamespace, options.ClusterDomain);
        _fallbackToDns = options.FallbackToDns;
        _connectTimeout = options.ConnectTimeout;
        _connectTotalTimeout = options.ConnectTotalTimeout;
        _connectAttempts = options.ConnectAttempts;
    }

    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/>: to a pod of the service the host names,
    /// or, for any other host, through DNS when <see cref="ServiceConnectorOptions.FallbackToDns"/> allows.
    /// Dispose the returned stream to close the connection (and end its count on the endpoint).
    /// </summary>
    /// <param name="host">A service name, a service's virtual IP, or any other host.</param>
    /// <param name="port">The service port (the port of the URL), 1-65535.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The connected stream; its <see cref="NetworkStream.Socket"/> is the direct connection.</returns>
    /// <exception cref="IOException">
    /// The host names no service and falling back is off; the service has no TCP port <paramref name="port"/>
    /// or no endpoint that takes connections; every endpoint is at the service's max-connections-per-endpoint; or
    /// every attempt failed. The message names host, port and service.
    /// </exception>
    public async ValueTask<NetworkStream> ConnectAsync(string host, int port, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "must be 1-65535");
        }

        var snapshot = _catalog.Current;
        var name = host;
        for (var depth = 0; depth <= MaxAliasDepth; depth++)
        {
            var service = _resolver.Find(snapshot, name);
            if (service is null)
            {
                // An ExternalName's target is looked up in DNS whatever the setting: the service asks for it.
                if (depth == 0 && !_fallbackToDns)
                {
                    throw new IOException($"Cannot connect to {host}:{port}: no service is named so (namespace, name or cluster domain wrong?), and falling back to DNS is off.");
                }

                return await ConnectThroughDnsAsync(name, port, cancellationToken).ConfigureAwait(false);
            }

            if (service.Service.Type != ServiceType.ExternalName)
            {
                return await ConnectToServiceAsync(host, service, port, cancellationToken).ConfigureAwait(false);
            }

            // An ExternalName service is a DNS alias: follow it, within the catalog when it names another service.
            name = service.Service.ExternalName!.TrimEnd('.');
        }

        throw new IOException($"Cannot connect to {host}:{port}: more than {MaxAliasDepth} ExternalName services in a row (do they name one another?).");
    }

    /// <summary>
    /// <see cref="ConnectAsync"/> in the shape of <see cref="System.Net.Http.SocketsHttpHandler.ConnectCallback"/>:
    /// <c>new SocketsHttpHandler { ConnectCallback = connector.ConnectCallback }</c>.
    /// </summary>
    /// <param name="context">The host and port of the request's URL.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    public async ValueTask<Stream> ConnectCallback(System.Net.Http.SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return await ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<NetworkStream> ConnectToServiceAsync(string host, ServiceSnapshot service, int port, CancellationToken cancellationToken)
    {
        PortRoute? route = null;
        ImmutableArray<EndpointState> endpoints;
        if (service.Ports.IsEmpty)
        {
            // A headless service without ports: DNS would hand out its pods' addresses, the port is the caller's.
            endpoints = [.. service.PortlessEndpoints.Where(static e => e.Conditions.Ready)];
        }
        else
        {
            var servicePort = service.Ports.FirstOrDefault(p => p.Port.Port == port && p.Port.Protocol == ServiceProtocol.Tcp)
                ?? throw new IOException($"Cannot connect to {host}:{port}: service {service.Id} has no TCP port {port} (its ports: {string.Join(", ", service.Ports.Select(static p => $"{p.Port.Port}/{p.Port.Protocol}"))}).");
            route = servicePort.Internal;
            endpoints = route.Picker is null ? [] : route.Endpoints;
        }

        if (endpoints.IsEmpty)
        {
            throw new IOException($"Cannot connect to {host}:{port}: service {service.Id} port {port} has no endpoint that takes connections.");
        }

        // Each connection its own flow, so per-flow hashing spreads them; the client (this process) stays the same.
        var context = PickContext.ForClient(new IPEndPoint(ThisProcess, (ushort)Interlocked.Increment(ref _connections)));
        var portlessTurn = route is null ? Interlocked.Increment(ref _portlessTurn) : 0;
        var affinity = route?.Affinity;
        var attempts = Math.Min(_connectAttempts, endpoints.Length);

        // The service's per-endpoint limit holds for in-process connections too (they count on the endpoint like
        // proxied ones): a full endpoint is skipped as in the forwarder, costing no attempt. There is no queue here,
        // and the service-wide MaxConnections limits the proxy's client connections only.
        var perEndpoint = route?.Policy.MaxConnectionsPerEndpoint ?? 0;
        var fullLimit = Math.Min(endpoints.Length, ProxyServerOptions.MaxConnectAttempts);
        var full = 0;
        var budget = new ConnectBudget(_connectTotalTimeout);
        var tried = default(TriedEndpoints);
        Exception? lastFailure = null;
        var attempt = 0;
        while (attempt < attempts)
        {
            if (!budget.TryNextAttempt(_connectTimeout, out var attemptTimeout, out var cutByBudget))
            {
                break;
            }

            var endpoint = route is not null
                ? EndpointChoice.Choose(route, route.Picker!, context, affinity, ThisProcessKey, ref tried)
                : NextUntried(endpoints, portlessTurn, ref tried);
            var target = route is not null ? endpoint.EndPoint : new IPEndPoint(endpoint.EndPoint.Address, port);
            context = context.NextAttempt();
            if (!endpoint.TryOnConnecting(perEndpoint))
            {
                if (++full >= fullLimit)
                {
                    throw new IOException($"Cannot connect to {host}:{port}: service {service.Id} port {port}: every endpoint it may use has {perEndpoint} connection(s) open (max-connections-per-endpoint).");
                }

                continue;
            }

            attempt++;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(attemptTimeout);
            var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
                endpoint.OnConnected();
                return new EndpointStream(socket, endpoint);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested || cutByBudget)
            {
                // The caller gave up, or the total budget ran out: not the endpoint's fault.
                socket.Dispose();
                endpoint.OnConnectionClosed();
                endpoint.Load.OnSlotFreedElsewhere();
                cancellationToken.ThrowIfCancellationRequested();
                lastFailure = new TimeoutException($"The connect to {target} was still pending when the total connect timeout ({_connectTotalTimeout}) ran out.");
                break;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                endpoint.OnConnectFailed();
                endpoint.Load.OnSlotFreedElsewhere();

                // Re-picked on the next attempt, and bound to whichever endpoint answers.
                affinity?.Forget(ThisProcessKey, endpoint);
                lastFailure = ex is OperationCanceledException ? new TimeoutException($"The connect to {target} timed out after {_connectTimeout}.") : ex;
            }
            catch
            {
                socket.Dispose();
                endpoint.OnConnectFailed();
                endpoint.Load.OnSlotFreedElsewhere();
                throw;
            }
        }

        throw new IOException($"Cannot connect to {host}:{port}: service {service.Id} port {port}: {attempt} connect attempt(s) failed; the last: {lastFailure?.Message}", lastFailure);
    }

    /// <summary>For a service without a route (no picker): round robin by connection, skipping the endpoints this connect tried.</summary>
    private static EndpointState NextUntried(ImmutableArray<EndpointState> endpoints, int turn, ref TriedEndpoints tried)
    {
        var start = (int)((uint)turn % (uint)endpoints.Length);
        var endpoint = endpoints[start];
        for (var i = 0; i < endpoints.Length; i++)
        {
            var candidate = endpoints[(start + i) % endpoints.Length];
            if (!tried.Contains(candidate))
            {
                endpoint = candidate;
                break;
            }
        }

        tried.Add(endpoint);
        return endpoint;
    }

    /// <summary>A host that is not a service: an ordinary connect, every address DNS gives tried in turn.</summary>
    private async ValueTask<NetworkStream> ConnectThroughDnsAsync(string host, int port, CancellationToken cancellationToken)
    {
        // Without an address family the socket is dual-mode: IPv4 and IPv6 answers both work.
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_connectTotalTimeout);
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(host, port), timeout.Token).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new IOException($"Cannot connect to {host}:{port}: timed out after {_connectTotalTimeout}.", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
