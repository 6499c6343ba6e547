namespace FastProxy;

/// <summary>Settings of a <see cref="ProxyServer"/>'s forwarding.</summary>
public sealed class ProxyServerOptions
{
    /// <summary>How long one connect to an endpoint may take before the next endpoint is tried. Defaults to 5 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many endpoints one client connection may try before it is reset, 1-16; capped by the number
    /// of endpoints. A retry never goes to an endpoint this connection already tried while an untried one
    /// exists. Defaults to 3.
    /// </summary>
    public int ConnectAttempts { get; set; } = 3;

    /// <summary>
    /// How long all connect attempts of one client connection may take together; the last attempt gets
    /// what is left of it. Defaults to 10 seconds.
    /// </summary>
    public TimeSpan ConnectTotalTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The most connect attempts <see cref="ConnectAttempts"/> allows.</summary>
    internal const int MaxConnectAttempts = 16;

    // Timers cannot wait longer than about 49 days; no connect should wait anywhere near that.
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    /// <summary>
    /// How long <see cref="ProxyServer.StopAsync"/> lets open connections finish after the listeners
    /// close, before it resets the rest. Defaults to 30 seconds.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long both directions of a connection may be silent before it is reset, for services whose
    /// <see cref="Model.ConnectionPolicy.IdleTimeout"/> is null; <see cref="TimeSpan.Zero"/> never. Defaults to
    /// 1 hour, Envoy's TCP proxy default: long enough for pooled database and message-broker connections,
    /// short enough that half-dead connections (a peer that vanished without a FIN) do not pile up forever.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a client of a listener that accepts the PROXY protocol may take to send the whole header
    /// before it is reset. Defaults to 5 seconds.
    /// </summary>
    public TimeSpan ProxyProtocolHeaderTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often idle connections are looked for: one timer scans every open connection, so a connection is
    /// reset between its idle timeout and that plus this. Internal: tests leave it, nobody needs to tune it.
    /// </summary>
    internal TimeSpan IdleScanInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Between two socket connections nobody else has touched, copy socket to socket without pipes (see
    /// Forwarding/SocketRelay.cs). Internal switch for the before/after benchmark; always on otherwise.
    /// </summary>
    internal bool UseSocketRelay { get; set; } = true;

    /// <summary>
    /// On Linux, a relay direction moving bulk data continues with splice(2) through a kernel pipe (see
    /// Forwarding/SpliceRelay.cs). Internal switch for the before/after benchmark.
    /// </summary>
    internal bool UseSplice { get; set; } = true;

    /// <summary>
    /// On Linux x86-64, the relay's sockets are driven by FastProxy's own epoll loops (see Forwarding/EpollRelay.cs)
    /// rather than the runtime's socket engine. Internal switch for the before/after benchmark.
    /// </summary>
    internal bool UseEpollRelay { get; set; } = true;

    internal void Validate()
    {
        foreach (var (option, value, problem) in Problems())
        {
            throw new ArgumentOutOfRangeException(option, value, problem);
        }
    }

    /// <summary>Every setting out of range, with why; empty when the settings are valid.</summary>
    internal IEnumerable<(string Option, object Value, string Problem)> Problems()
    {
        if (ConnectTimeout <= TimeSpan.Zero || ConnectTimeout > MaxTimeout)
        {
            yield return (nameof(ConnectTimeout), ConnectTimeout, "must be positive and at most 1 day");
        }

        if (ConnectAttempts is < 1 or > MaxConnectAttempts)
        {
            yield return (nameof(ConnectAttempts), ConnectAttempts, $"must be 1-{MaxConnectAttempts}");
        }

        if (ConnectTotalTimeout <= TimeSpan.Zero || ConnectTotalTimeout > MaxTimeout)
        {
            yield return (nameof(ConnectTotalTimeout), ConnectTotalTimeout, "must be positive and at most 1 day");
        }

        if (IdleTimeout < TimeSpan.Zero)
        {
            yield return (nameof(IdleTimeout), IdleTimeout, "must not be negative (zero disables it)");
        }

        if (ProxyProtocolHeaderTimeout <= TimeSpan.Zero || ProxyProtocolHeaderTimeout > MaxTimeout)
        {
            yield return (nameof(ProxyProtocolHeaderTimeout), ProxyProtocolHeaderTimeout, "must be positive and at most 1 day");
        }

        if (ShutdownTimeout < TimeSpan.Zero)
        {
            yield return (nameof(ShutdownTimeout), ShutdownTimeout, "must not be negative");
        }
    }
}
