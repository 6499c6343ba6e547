using System.Diagnostics.Metrics;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Counts the proxy's failed connect attempts (<c>fastproxy.connect.duration</c> with <c>outcome=failed</c>),
/// each of which the proxy retried on another endpoint when the client did not fail: it shows a scenario
/// really sent connections to dead pods.
/// </summary>
internal sealed class FailedConnectCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _failed;

    public FailedConnectCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ProxyServer.MeterName && instrument.Name == "fastproxy.connect.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var (name, value) in tags)
            {
                if (name == "outcome" && Equals(value, "failed"))
                {
                    Interlocked.Increment(ref _failed);
                }
            }
        });
        _listener.Start();
    }

    public long Failed => Interlocked.Read(ref _failed);

    public void Dispose() => _listener.Dispose();
}
