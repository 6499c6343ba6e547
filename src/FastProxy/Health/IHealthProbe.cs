using System.Net;
using FastProxy.Model;

namespace FastProxy.Health;

/// <summary>One active probe of one endpoint; a seam so the scheduling can be tested with a scripted probe and a fake clock.</summary>
internal interface IHealthProbe
{
    /// <summary>Probes <paramref name="target"/>; returns whether it is up and, when not, why. Cancellation ends the probe (timeout or stop).</summary>
    ValueTask<ProbeResult> ProbeAsync(IPEndPoint target, HealthCheckPolicy policy, CancellationToken cancellationToken);
}

/// <summary>A probe's outcome: up or not, and a short description for logs.</summary>
internal readonly record struct ProbeResult(bool Healthy, string Detail)
{
    public static ProbeResult Up(string detail) => new(true, detail);

    public static ProbeResult Down(string detail) => new(false, detail);
}
