namespace FastProxy.Health;

/// <summary>A change of one endpoint's health, with why; what logs and metrics report.</summary>
internal enum HealthEvent
{
    /// <summary>Active checks failed the unhealthy threshold in a row.</summary>
    ChecksFailing,

    /// <summary>Active checks passed the healthy threshold in a row.</summary>
    ChecksPassing,

    /// <summary>Outlier detection ejected the endpoint.</summary>
    Ejected,

    /// <summary>An ejected endpoint returned.</summary>
    Restored,
}

/// <summary>What caused a transition; the <c>reason</c> tag of the ejection and restoration metrics.</summary>
internal enum HealthReason
{
    /// <summary>Active health checks (failing or passing).</summary>
    HealthCheck,

    /// <summary>Consecutive connect failures.</summary>
    ConnectFailures,

    /// <summary>Consecutive connections reset by the endpoint.</summary>
    Resets,

    /// <summary>The ejection period ended.</summary>
    EjectionExpired,

    /// <summary>A connection to the ejected endpoint succeeded.</summary>
    Success,
}

/// <summary>What the trackers tell their owner: a transition happened (after the endpoint's state changed).</summary>
internal interface IHealthEvents
{
    void OnHealthChanged(EndpointHealthTracker tracker, HealthEvent change, HealthReason reason, string detail, TimeSpan ejectedFor);
}
