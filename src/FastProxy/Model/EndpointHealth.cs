namespace FastProxy.Model;

/// <summary>
/// Why an endpoint takes no new connections as far as health is concerned (its conditions aside).
/// <see cref="Healthy"/> when health checking and outlier detection are off.
/// </summary>
[Flags]
public enum EndpointHealth
{
    /// <summary>Passing (or not checked).</summary>
    Healthy = 0,

    /// <summary>It failed <see cref="HealthCheckPolicy.UnhealthyThreshold"/> active checks in a row.</summary>
    FailingChecks = 1,

    /// <summary>Outlier detection ejected it for a while (<see cref="OutlierDetectionPolicy"/>).</summary>
    Ejected = 2,
}
