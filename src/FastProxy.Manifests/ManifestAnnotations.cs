namespace FastProxy.Manifests;

/// <summary>
/// FastProxy's own settings, written as annotations under <c>fastproxy.io/</c> so the manifests stay
/// valid Kubernetes objects. docs/manifests.md lists each with its type, default and an example.
/// </summary>
public static class ManifestAnnotations
{
    /// <summary>The prefix of every FastProxy annotation; an unknown key under it is reported (a typo would otherwise be ignored).</summary>
    public const string Prefix = "fastproxy.io/";

    /// <summary>On a Service: the balancing strategy's name (<see cref="Model.Service.Balancer"/>), e.g. <c>maglev</c>. Defaults to <c>round-robin</c>.</summary>
    public const string Balancer = "fastproxy.io/balancer";

    /// <summary>On a Pod: its share for weighted strategies (<see cref="Model.Pod.Weight"/>), an integer 1-10000 written as a string (<c>"5"</c>). Defaults to 1.</summary>
    public const string Weight = "fastproxy.io/weight";

    /// <summary>On a Service: turns on active health checks, <c>tcp</c> or <c>http</c> (<see cref="Model.Service.HealthCheck"/>). Defaults to none.</summary>
    public const string HealthCheck = "fastproxy.io/health-check";

    /// <summary>On a Service: the path an HTTP health check requests. Defaults to <c>/</c>.</summary>
    public const string HealthCheckPath = "fastproxy.io/health-check-path";

    /// <summary>On a Service: the port health checks probe, as a string (<c>"8081"</c>). Defaults to the endpoint's target port.</summary>
    public const string HealthCheckPort = "fastproxy.io/health-check-port";

    /// <summary>On a Service: the time between health checks, a duration (<c>5s</c>, <c>500ms</c>, <c>1m</c>). Defaults to <c>5s</c>.</summary>
    public const string HealthCheckInterval = "fastproxy.io/health-check-interval";

    /// <summary>On a Service: how long one health check may take, a duration. Defaults to <c>2s</c>.</summary>
    public const string HealthCheckTimeout = "fastproxy.io/health-check-timeout";

    /// <summary>On a Service: passing checks in a row that bring an endpoint back, as a string. Defaults to <c>"2"</c>.</summary>
    public const string HealthCheckHealthyThreshold = "fastproxy.io/health-check-healthy-threshold";

    /// <summary>On a Service: failing checks in a row that take an endpoint out, as a string. Defaults to <c>"3"</c>.</summary>
    public const string HealthCheckUnhealthyThreshold = "fastproxy.io/health-check-unhealthy-threshold";

    /// <summary>On a Service: up to this percentage of the interval is added at random to each wait, as a string. Defaults to <c>"10"</c>.</summary>
    public const string HealthCheckJitterPercent = "fastproxy.io/health-check-jitter-percent";

    /// <summary>On a Service: the HTTP statuses that count as healthy, <c>200-399</c> or one status (<c>204</c>). Defaults to <c>200-399</c>.</summary>
    public const string HealthCheckExpectedStatuses = "fastproxy.io/health-check-expected-statuses";

    /// <summary>On a Service: turns on outlier detection and sets the failed connects (or resets) in a row that eject an endpoint, as a string. Defaults to <c>"5"</c> when outlier detection is on.</summary>
    public const string OutlierConsecutiveFailures = "fastproxy.io/outlier-consecutive-failures";

    /// <summary>On a Service: turns on outlier detection and sets the first ejection's length, a duration. Defaults to <c>30s</c>.</summary>
    public const string OutlierBaseEjectionTime = "fastproxy.io/outlier-base-ejection-time";

    /// <summary>On a Service: turns on outlier detection and sets the longest ejection, a duration. Defaults to <c>300s</c>.</summary>
    public const string OutlierMaxEjectionTime = "fastproxy.io/outlier-max-ejection-time";

    /// <summary>On a Service: the panic threshold, a percentage 0-100 as a string (<see cref="Model.Service.PanicThreshold"/>). Defaults to <c>"0"</c> (panic only when no endpoint is healthy).</summary>
    public const string PanicThreshold = "fastproxy.io/panic-threshold";
    /// <summary>On a Service: what happens to open connections when their pod leaves or turns terminating, or their listener is removed: <c>keep</c> (default), <c>drain</c> or <c>close</c>.</summary>
    public const string DrainPolicy = "fastproxy.io/drain-policy";

    /// <summary>On a Service: how long <c>drain</c> lets connections finish before resetting them, a duration (<c>"30s"</c>, <c>"5m"</c>; a bare number is seconds). Defaults to 30s.</summary>
    public const string DrainTimeout = "fastproxy.io/drain-timeout";

    /// <summary>On a Service: the most client connections open at once over all its ports; <c>"0"</c> (default) is unlimited.</summary>
    public const string MaxConnections = "fastproxy.io/max-connections";

    /// <summary>On a Service: the most connections open or connecting to one endpoint; <c>"0"</c> (default) is unlimited.</summary>
    public const string MaxConnectionsPerEndpoint = "fastproxy.io/max-connections-per-endpoint";

    /// <summary>On a Service: what a connection over a limit meets: <c>reject</c> (default, reset at once) or <c>queue</c>.</summary>
    public const string LimitAction = "fastproxy.io/limit-action";

    /// <summary>On a Service: how long a queued connection waits for a slot, a duration. Defaults to 5s.</summary>
    public const string QueueTimeout = "fastproxy.io/queue-timeout";

    /// <summary>On a Service: the most connections waiting for a slot at once. Defaults to 1000.</summary>
    public const string QueueLimit = "fastproxy.io/queue-limit";

    /// <summary>On a Service: how long one connect to an endpoint may take, a duration. Defaults to the server's (5s).</summary>
    public const string ConnectTimeout = "fastproxy.io/connect-timeout";

    /// <summary>On a Service: how long both directions may be silent before the connection is reset, a duration; <c>"0"</c> never. Defaults to the server's (1h).</summary>
    public const string IdleTimeout = "fastproxy.io/idle-timeout";

    /// <summary>On a Service: send a PROXY protocol header to backends: <c>v1</c> or <c>v2</c> (<c>none</c>, the default, sends none).</summary>
    public const string ProxyProtocol = "fastproxy.io/proxy-protocol";

    /// <summary>On a Service: clients (a load balancer in front) open with a PROXY protocol header, v1 or v2: <c>"true"</c> or <c>"false"</c> (default).</summary>
    public const string AcceptProxyProtocol = "fastproxy.io/accept-proxy-protocol";

    /// <summary>
    /// On a Service: how long its UDP sessions live idle (<see cref="Model.UdpSessionPolicy.IdleTimeout"/>),
    /// a duration from 1 second to 1 day (<c>30s</c>, <c>2m</c>, or whole seconds <c>"30"</c>). Defaults to 30s.
    /// </summary>
    public const string UdpSessionTimeout = "fastproxy.io/udp-session-timeout";

    /// <summary>
    /// On a Service: the most UDP sessions it holds (<see cref="Model.UdpSessionPolicy.MaxSessions"/>), an
    /// integer 1-1048576 written as a string (<c>"4096"</c>). Defaults to 16384.
    /// </summary>
    public const string UdpMaxSessions = "fastproxy.io/udp-max-sessions";
}
