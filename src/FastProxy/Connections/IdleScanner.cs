using FastProxy.Catalog;
using FastProxy.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FastProxy.Connections;

/// <summary>
/// Resets connections whose both directions were silent for their idle timeout. One coarse timer walks every
/// open connection and compares its byte counters with what it saw last time, so reads and writes pay
/// nothing for it (no clock read, no timer per connection). A connection is reset between its timeout and
/// that plus one scan interval.
/// </summary>
internal sealed partial class IdleScanner : IDisposable
{
    private readonly ConnectionSet _all;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ProxyMetrics _metrics;
    private readonly ITimer _timer;
    private ForwardedConnection[] _scratch = new ForwardedConnection[64];
    private int _scanning;

    public IdleScanner(ConnectionSet all, TimeProvider time, TimeSpan interval, ILogger logger, ProxyMetrics metrics)
    {
        _all = all;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _timer = time.CreateTimer(static s => ((IdleScanner)s!).Scan(), this, interval, interval);
    }

    /// <summary>One pass over the open connections; returns how many were reset.</summary>
    internal int Scan()
    {
        // A slow pass must not overlap the next tick.
        if (Interlocked.Exchange(ref _scanning, 1) == 1)
        {
            return 0;
        }

        try
        {
            var count = _all.CopyTo(ref _scratch);
            var now = _time.GetTimestamp();
            var closed = 0;
            PortRoute? lastRoute = null;
            var closedOfRoute = 0;
            for (var i = 0; i < count; i++)
            {
                var connection = _scratch[i];
                _scratch[i] = null!;
                if (connection.IdleTimeout <= TimeSpan.Zero)
                {
                    continue;
                }

                var activity = connection.Activity;
                if (activity != connection.SeenActivity)
                {
                    connection.SeenActivity = activity;
                    connection.QuietSince = now;
                    continue;
                }

                if (_time.GetElapsedTime(connection.QuietSince, now) >= connection.IdleTimeout
                    && connection.Terminate(Termination.IdleTimeout, $"Idle for {connection.IdleTimeout} in both directions."))
                {
                    closed++;
                    if (!ReferenceEquals(lastRoute, connection.Route) && lastRoute is not null)
                    {
                        _metrics.Terminated(lastRoute, Termination.IdleTimeout, closedOfRoute);
                        closedOfRoute = 0;
                    }

                    lastRoute = connection.Route;
                    closedOfRoute++;
                }
            }

            if (lastRoute is not null)
            {
                _metrics.Terminated(lastRoute, Termination.IdleTimeout, closedOfRoute);
            }

            if (closed > 0)
            {
                Log.IdleConnectionsClosed(_logger, closed);
            }

            return closed;
        }
        finally
        {
            Volatile.Write(ref _scanning, 0);
        }
    }

    public void Dispose() => _timer.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventIds.IdleConnectionsClosed, LogLevel.Information, "Reset {Count} connection(s) silent in both directions for their idle timeout.", EventName = "IdleConnectionsClosed")]
        public static partial void IdleConnectionsClosed(ILogger logger, int count);
    }
}
