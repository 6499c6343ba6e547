using System.Diagnostics.Metrics;

namespace FastProxy.Sidecar.Admin;

/// <summary>
/// The sidecar's own instruments, on the meter <see cref="MeterName"/>, next to the library's
/// <c>FastProxy</c> meter on <c>/metrics</c>. The <c>run</c> command reports each manifest reload here.
/// </summary>
internal sealed class SidecarMetrics
{
    /// <summary>The sidecar's meter name (the library's is <see cref="ProxyServer.MeterName"/>).</summary>
    public const string MeterName = "FastProxy.Sidecar";

    private static readonly KeyValuePair<string, object?> Ok = new("result", "ok");
    private static readonly KeyValuePair<string, object?> Failed = new("result", "failed");
    private readonly Counter<long> _reloads;

    public SidecarMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _reloads = meter.CreateCounter<long>("fastproxy.reloads", "{reload}", "Manifest reloads, by result (ok: applied; failed: rejected, the last good state keeps serving).");

        // Both series exist from the start at 0, so rate() and alerts on failed reloads work before the first one.
        _reloads.Add(0, Ok);
        _reloads.Add(0, Failed);
    }

    /// <summary>A reload was validated and applied.</summary>
    public void ReloadSucceeded() => _reloads.Add(1, Ok);

    /// <summary>A reload was rejected (invalid manifests or a catalog validation error); nothing changed.</summary>
    public void ReloadFailed() => _reloads.Add(1, Failed);
}
