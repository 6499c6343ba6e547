namespace FastProxy.Connections;

/// <summary>
/// At most one log line per interval for an event that can come in floods (every connection over a limit, every
/// bad header from a scanner): the first is logged, the rest are counted and reported with the next line.
/// </summary>
internal sealed class LogThrottle(TimeProvider time, TimeSpan interval)
{
    private long _next;
    private int _suppressed;

    /// <summary>True when this occurrence should be logged; <paramref name="suppressed"/> is how many were not since the last.</summary>
    public bool ShouldLog(out int suppressed)
    {
        var now = time.GetTimestamp();
        var next = Interlocked.Read(ref _next);
        if (now >= next && Interlocked.CompareExchange(ref _next, now + (long)(interval.TotalSeconds * time.TimestampFrequency), next) == next)
        {
            suppressed = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }

        Interlocked.Increment(ref _suppressed);
        suppressed = 0;
        return false;
    }
}
