using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using FastProxy.Tests;
using FastProxy.Transport.Tests;

namespace FastProxy.Diagnostics.Tests;

/// <summary>The meter's instruments report what real connections through the proxy did.</summary>
public sealed class ProxyMetricsTests
{
    [Fact]
    public async Task Instruments_ReportConnectionsBytesLatencyAndVersion_PerEndpoint()
    {
        await using var env = await ProxyTestEnvironment.StartAsync(pods: 1);
        var endpoint = env.Backends[0].EndPoint.ToString();
        var measurements = new ConcurrentBag<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ProxyServer.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => measurements.Add((instrument.Name, value, ToDictionary(tags))));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => measurements.Add((instrument.Name, value, ToDictionary(tags))));
        listener.Start();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("web-1", await TestClient.WhoServesAsync(env.VirtualEndPoint));
        }

        // Connections are counted when they close: wait until the endpoint has none open.
        Assert.True(await TestIO.EventuallyAsync(() => env.Catalog.Current.Services.Values.Single(s => s.Id.Name == "web").Ports[0].AllEndpoints[0].ActiveConnections == 0));
        listener.RecordObservableInstruments();

        double Of(string instrument, string? direction = null) => measurements
            .Where(m => m.Instrument == instrument && Equals(m.Tags.GetValueOrDefault("endpoint"), endpoint)
                && (direction is null || Equals(m.Tags["direction"], direction)))
            .Select(m => m.Value).Single();

        Assert.Equal(3, Of("fastproxy.endpoint.connections"));
        Assert.Equal(0, Of("fastproxy.endpoint.connections.active"));
        Assert.Equal(0, Of("fastproxy.endpoint.connect_failures"));
        Assert.True(Of("fastproxy.endpoint.bytes", "from_endpoint") >= 3 * "web-1\n".Length);
        Assert.Contains(measurements, m => m.Instrument == "fastproxy.catalog.version" && m.Value == env.Catalog.Current.Version);
        var connects = measurements.Where(m => m.Instrument == "fastproxy.connect.duration" && Equals(m.Tags["service"], "default/web")).ToList();
        Assert.True(connects.Count >= 3, $"{connects.Count} connect durations recorded");
        Assert.All(connects, m => Assert.True(m.Value is > 0 and < 10));
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var dictionary = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in tags)
        {
            dictionary[key] = value;
        }

        return dictionary;
    }
}
