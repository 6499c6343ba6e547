namespace FastProxy.Model;

/// <summary>
/// Active health checking of a service's endpoints: every endpoint is probed at an interval, and one that
/// fails <see cref="UnhealthyThreshold"/> probes in a row takes no new connections until it passes
/// <see cref="HealthyThreshold"/> in a row. The defaults follow HAProxy's (<c>rise 2</c>, <c>fall 3</c>)
/// at Kubernetes' probe pace; docs/health.md says why.
/// </summary>
public sealed record HealthCheckPolicy
{
    /// <summary>TCP connect or HTTP GET. Defaults to <see cref="HealthCheckProtocol.Tcp"/>.</summary>
    public HealthCheckProtocol Protocol { get; init; } = HealthCheckProtocol.Tcp;

    /// <summary>The path an HTTP check requests; starts with <c>/</c>. Ignored for TCP. Defaults to <c>/</c>.</summary>
    public string Path { get; init; } = "/";

    /// <summary>The port probed on the endpoint's address, 1-65535; 0 probes the endpoint's own (target) port. Defaults to 0.</summary>
    public int Port { get; init; }

    /// <summary>The time between the end of one probe and the start of the next, before jitter; 100 ms to 1 day. Defaults to 5 seconds.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one probe may take before it counts as failed; more than 0 and at most <see cref="Interval"/>. Defaults to 2 seconds.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Passing probes in a row that bring an unhealthy endpoint back, 1-100. Defaults to 2.</summary>
    public int HealthyThreshold { get; init; } = 2;

    /// <summary>Failing probes in a row that take a healthy endpoint out, 1-100. Defaults to 3.</summary>
    public int UnhealthyThreshold { get; init; } = 3;

    /// <summary>
    /// Up to this percentage of <see cref="Interval"/> is added, at random, to each wait, 0-100 (Envoy's
    /// <c>interval_jitter_percent</c>), so the probes of many endpoints do not fall into step. Defaults to 10.
    /// </summary>
    public int JitterPercent { get; init; } = 10;

    /// <summary>The lowest HTTP status that counts as healthy, 100-599. Defaults to 200.</summary>
    public int ExpectedStatusMin { get; init; } = 200;

    /// <summary>The highest HTTP status that counts as healthy, 100-599 and at least <see cref="ExpectedStatusMin"/>. Defaults to 399 (redirects are not followed, and count as up, as in Kubernetes' HTTP probe).</summary>
    public int ExpectedStatusMax { get; init; } = 399;
}
