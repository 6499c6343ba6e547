namespace FastProxy.Model;

/// <summary>
/// Passive outlier detection: the forwarder's own connects are the probes. An endpoint whose connects fail
/// (or whose connections it resets) <see cref="ConsecutiveFailures"/> times in a row is ejected, takes no
/// new connections for an ejection period, and returns when the period ends or a connection to it
/// succeeds. The period is <see cref="BaseEjectionTime"/> times the number of times it was ejected, capped
/// by <see cref="MaxEjectionTime"/>, as in Envoy, whose defaults these are.
/// </summary>
public sealed record OutlierDetectionPolicy
{
    /// <summary>Failed connects, or connections reset by the endpoint, in a row that eject it, 1-1000. Defaults to 5.</summary>
    public int ConsecutiveFailures { get; init; } = 5;

    /// <summary>The first ejection's length, and the step by which each repeat grows; more than 0 and at most 1 day. Defaults to 30 seconds.</summary>
    public TimeSpan BaseEjectionTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest ejection, at least <see cref="BaseEjectionTime"/> and at most 1 day. An endpoint that
    /// stays in this long after it returns starts counting its ejections from one again. Defaults to 300 seconds.
    /// </summary>
    public TimeSpan MaxEjectionTime { get; init; } = TimeSpan.FromSeconds(300);
}
