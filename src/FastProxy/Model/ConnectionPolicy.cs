namespace FastProxy.Model;

/// <summary>
/// How a service treats its connections: what happens to them when their endpoint or listener goes away,
/// how many may be open, how long a connect and a silence may last, and whether the PROXY protocol is
/// spoken. The defaults behave like kube-proxy. See docs/connections.md for what each setting is for.
/// </summary>
public sealed record ConnectionPolicy
{
    /// <summary>Kubernetes' default <c>terminationGracePeriodSeconds</c>: a draining pod is killed after it anyway.</summary>
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The default <see cref="QueueTimeout"/>: 5 seconds, shorter than common client connect timeouts.</summary>
    public static readonly TimeSpan DefaultQueueTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The default policy: keep connections, no limits, the server's timeouts, no PROXY protocol.</summary>
    public static ConnectionPolicy Default { get; } = new();

    /// <summary>What happens to open connections when their endpoint leaves or turns terminating, or their listener is removed. Defaults to <see cref="DrainPolicy.Keep"/>.</summary>
    public DrainPolicy Drain { get; init; } = DrainPolicy.Keep;

    /// <summary>How long <see cref="DrainPolicy.Drain"/> lets open connections finish before it resets them. Defaults to 30 seconds.</summary>
    public TimeSpan DrainTimeout { get; init; } = DefaultDrainTimeout;

    /// <summary>The most client connections the service has open at once, over all its ports and listeners; 0 is unlimited. Defaults to 0.</summary>
    public int MaxConnections { get; init; }

    /// <summary>
    /// The most connections one endpoint has open or connecting at once; 0 is unlimited. A full endpoint is
    /// skipped as a failed one would be, before <see cref="LimitAction"/> applies. Defaults to 0.
    /// </summary>
    public int MaxConnectionsPerEndpoint { get; init; }

    /// <summary>What a connection over a limit meets. Defaults to <see cref="Model.LimitAction.Reject"/>.</summary>
    public LimitAction LimitAction { get; init; } = LimitAction.Reject;

    /// <summary>How long a queued connection waits for a slot before it is reset. Defaults to 5 seconds.</summary>
    public TimeSpan QueueTimeout { get; init; } = DefaultQueueTimeout;

    /// <summary>The most connections of the service waiting for a slot at once; more are reset. Defaults to 1000.</summary>
    public int QueueLimit { get; init; } = 1000;

    /// <summary>How long one connect to an endpoint may take; null uses <see cref="ProxyServerOptions.ConnectTimeout"/>. Defaults to null.</summary>
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>
    /// How long both directions of a connection may be silent before it is reset; <see cref="TimeSpan.Zero"/>
    /// never; null uses <see cref="ProxyServerOptions.IdleTimeout"/> (1 hour). Defaults to null.
    /// </summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>The PROXY protocol header written to backends before any client data. Defaults to <see cref="ProxyProtocolVersion.None"/>.</summary>
    public ProxyProtocolVersion SendProxyProtocol { get; init; } = ProxyProtocolVersion.None;

    /// <summary>
    /// Clients must open with a PROXY protocol header (v1 or v2, detected by signature), as a load balancer in
    /// front sends: its source address becomes the client's for affinity, source ranges and the header sent
    /// onward; a connection without a valid header is reset. Defaults to false.
    /// </summary>
    public bool AcceptProxyProtocol { get; init; }

    /// <summary>True when a limit is set, so connections take slots.</summary>
    internal bool HasLimits => MaxConnections > 0 || MaxConnectionsPerEndpoint > 0;
}
