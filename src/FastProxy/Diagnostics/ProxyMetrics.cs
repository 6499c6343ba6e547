using System.Diagnostics.Metrics;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Diagnostics;

/// <summary>
/// The proxy's <see cref="System.Diagnostics.Metrics"/> instruments (OpenTelemetry-compatible, see
/// docs/metrics.md). Per-endpoint figures are observed from the counters every endpoint keeps anyway,
/// at collection time, so forwarding pays nothing for them; only connect latency is recorded as it happens.
/// </summary>
internal sealed class ProxyMetrics
{
    private readonly ServiceCatalog _catalog;
    private readonly Histogram<double> _connectDuration;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _queued;
    private readonly Counter<long> _terminated;
    private readonly Counter<long> _drains;

    public ProxyMetrics(Meter meter, ServiceCatalog catalog, Func<int> openClientConnections)
    {
        _catalog = catalog;
        meter.CreateObservableUpDownCounter("fastproxy.connections.active", () => (long)openClientConnections(), "{connection}", "Client connections open now, all services.");
        meter.CreateObservableUpDownCounter("fastproxy.endpoint.connections.active", () => Observe(static e => e.ActiveConnections), "{connection}", "Connections open or connecting to each endpoint.");
        meter.CreateObservableCounter("fastproxy.endpoint.connections", () => Observe(static e => e.TotalConnections), "{connection}", "Connections forwarded to each endpoint since it appeared.");
        meter.CreateObservableCounter("fastproxy.endpoint.connect_failures", () => Observe(static e => e.FailedConnects), "{connect}", "Connect attempts to each endpoint that failed or timed out.");
        meter.CreateObservableCounter("fastproxy.endpoint.bytes", ObserveBytes, "By", "Bytes forwarded to (direction=to_endpoint) and from (direction=from_endpoint) each endpoint.");
        meter.CreateObservableGauge("fastproxy.catalog.version", () => _catalog.Current.Version, "{version}", "The catalog version the proxy serves.");
        _connectDuration = meter.CreateHistogram(
            "fastproxy.connect.duration",
            "s",
            "Time to connect to an endpoint, per attempt (outcome=ok or failed).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _refused = meter.CreateCounter<long>("fastproxy.connections.refused", "{connection}", "Client connections refused before forwarding (reason=source_range, limit, queue_full, queue_timeout or proxy_header).");
        _queued = meter.CreateCounter<long>("fastproxy.connections.queued", "{connection}", "Client connections that waited for a slot of a connection limit (limit-action queue).");
        _terminated = meter.CreateCounter<long>("fastproxy.connections.terminated", "{connection}", "Running connections the proxy reset (reason=close_policy, drain_deadline or idle_timeout).");
        _drains = meter.CreateCounter<long>("fastproxy.drains", "{drain}", "Drain policy applied to the open connections of an endpoint or listener that went away (policy=keep, drain or close; trigger=endpoint_removed, endpoint_terminating or listener_removed).");
    }

    /// <summary>The name of the meter every <see cref="ProxyServer"/> publishes its instruments on.</summary>
    public const string MeterName = "FastProxy";

    public void ConnectFinished(PortRoute route, double seconds, bool succeeded)
    {
        if (_connectDuration.Enabled)
        {
            _connectDuration.Record(seconds, new("service", route.ServiceLabel), new("outcome", succeeded ? "ok" : "failed"));
        }
    }

    public void SourceRefused(PortRoute route) => Refused(route, "source_range");

    /// <summary>A connection refused before forwarding; <paramref name="reason"/> is one of the documented tag values.</summary>
    public void Refused(PortRoute route, string reason) => _refused.Add(1, new("service", route.ServiceLabel), new KeyValuePair<string, object?>("reason", reason));

    public void Queued(PortRoute route) => _queued.Add(1, new KeyValuePair<string, object?>("service", route.ServiceLabel));

    public void Terminated(PortRoute route, Connections.Termination reason, int count = 1) => _terminated.Add(count, new("service", route.ServiceLabel), new KeyValuePair<string, object?>("reason", reason switch
    {
        Connections.Termination.ClosePolicy => "close_policy",
        Connections.Termination.DrainDeadline => "drain_deadline",
        _ => "idle_timeout",
    }));

    public void DrainApplied(PortRoute route, DrainPolicy policy, string trigger) => _drains.Add(
        1,
        new("service", route.ServiceLabel),
        new("policy", policy switch { DrainPolicy.Drain => "drain", DrainPolicy.Close => "close", _ => "keep" }),
        new KeyValuePair<string, object?>("trigger", trigger));

    private IEnumerable<Measurement<long>> Observe(Func<EndpointState, long> value)
    {
        foreach (var endpoint in Endpoints())
        {
            yield return new Measurement<long>(value(endpoint), Tags(endpoint));
        }
    }

    private IEnumerable<Measurement<long>> ObserveBytes()
    {
        foreach (var endpoint in Endpoints())
        {
            yield return new Measurement<long>(endpoint.BytesToEndpoint, [.. Tags(endpoint), new("direction", "to_endpoint")]);
            yield return new Measurement<long>(endpoint.BytesFromEndpoint, [.. Tags(endpoint), new("direction", "from_endpoint")]);
        }
    }

    private IEnumerable<EndpointState> Endpoints()
    {
        foreach (var service in _catalog.Current.Services.Values)
        {
            foreach (var port in service.Ports)
            {
                foreach (var endpoint in port.AllEndpoints)
                {
                    yield return endpoint;
                }
            }
        }
    }

    private static KeyValuePair<string, object?>[] Tags(EndpointState endpoint) =>
    [
        new("service", endpoint.ServiceLabel),
        new("port", endpoint.PortName),
        new("endpoint", endpoint.Label),
    ];
}
