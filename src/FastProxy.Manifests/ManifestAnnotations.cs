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
}
