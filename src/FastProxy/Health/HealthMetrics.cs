using System.Diagnostics.Metrics;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Health;

/// <summary>
/// Health instruments on the proxy's meter (docs/metrics.md): endpoint health and panic observed from the
/// published snapshot at collection time; ejections, restorations and probe latency recorded as they happen.
/// </summary>
internal sealed class HealthMetrics
{
    private readonly ServiceCatalog _catalog;
    private readonly Counter<long> _ejections;
    private readonly Counter<long> _restorations;
    private readonly Histogram<double> _probeDuration;

    public HealthMetrics(Meter meter, ServiceCatalog catalog)
    {
        _catalog = catalog;
        meter.CreateObservableGauge("fastproxy.endpoint.healthy", ObserveHealth, "{endpoint}", "1 while the endpoint passes its health checks and is not ejected, else 0 (services with health checking or outlier detection only).");
        meter.CreateObservableGauge("fastproxy.route.panic", () => ObserveRoutes(static r => r.InPanic ? 1 : 0), "{route}", "1 while a route balances over unhealthy endpoints too because too few are healthy (route=internal or external).");
        meter.CreateObservableCounter("fastproxy.route.panics", () => ObserveRoutes(static r => r.PanicCount), "{transition}", "Times a route entered panic.");
        _ejections = meter.CreateCounter<long>("fastproxy.endpoint.ejections", "{ejection}", "Endpoints taken out of the routes (reason=health_check, connect_failures or resets).");
        _restorations = meter.CreateCounter<long>("fastproxy.endpoint.restorations", "{restoration}", "Endpoints brought back into the routes (reason=health_check, ejection_expired or success).");
        _probeDuration = meter.CreateHistogram(
            "fastproxy.health_check.duration",
            "s",
            "Time an active health check took (outcome=ok or failed).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    }

    public void Ejected(EndpointState endpoint, HealthReason reason) => _ejections.Add(1, Tags(endpoint, reason));

    public void Restored(EndpointState endpoint, HealthReason reason) => _restorations.Add(1, Tags(endpoint, reason));

    public void Probed(EndpointState endpoint, bool healthy, TimeSpan duration)
    {
        if (_probeDuration.Enabled)
        {
            _probeDuration.Record(duration.TotalSeconds, new("service", endpoint.ServiceLabel), new("outcome", healthy ? "ok" : "failed"));
        }
    }

    private static KeyValuePair<string, object?>[] Tags(EndpointState endpoint, HealthReason reason) =>
    [
        new("service", endpoint.ServiceLabel),
        new("port", endpoint.PortName),
        new("endpoint", endpoint.Label),
        new("reason", ReasonTag(reason)),
    ];

    public static string ReasonTag(HealthReason reason) => reason switch
    {
        HealthReason.HealthCheck => "health_check",
        HealthReason.ConnectFailures => "connect_failures",
        HealthReason.Resets => "resets",
        HealthReason.EjectionExpired => "ejection_expired",
        _ => "success",
    };

    private IEnumerable<Measurement<int>> ObserveHealth()
    {
        foreach (var service in _catalog.Current.Services.Values)
        {
            if (!HealthRouting.Applies(service.Service))
            {
                continue;
            }

            foreach (var port in service.Ports)
            {
                foreach (var endpoint in port.AllEndpoints)
                {
                    yield return new(endpoint.Health == EndpointHealth.Healthy ? 1 : 0, new("service", endpoint.ServiceLabel), new("port", endpoint.PortName), new("endpoint", endpoint.Label));
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveRoutes(Func<PortRoute, long> value)
    {
        foreach (var service in _catalog.Current.Services.Values)
        {
            if (!HealthRouting.Applies(service.Service))
            {
                continue;
            }

            foreach (var port in service.Ports)
            {
                yield return new(value(port.Internal), new("service", port.Internal.ServiceLabel), new("port", port.Port.Name), new("route", "internal"));
                if (!ReferenceEquals(port.External, port.Internal))
                {
                    yield return new(value(port.External), new("service", port.External.ServiceLabel), new("port", port.Port.Name), new("route", "external"));
                }
            }
        }
    }
}
