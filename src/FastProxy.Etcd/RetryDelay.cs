namespace FastProxy.Etcd;

/// <summary>Capped exponential backoff with jitter, so that many nodes that lost etcd together do not come back in step.</summary>
internal sealed class RetryDelay(TimeSpan min, TimeSpan max)
{
    private TimeSpan _next = TimeSpan.Zero;

    /// <summary>The wait before the next attempt (between half and all of the current step); the step then doubles, up to the cap.</summary>
    public TimeSpan Next()
    {
        var step = _next == TimeSpan.Zero ? min : _next;
        _next = TimeSpan.FromTicks(Math.Min(max.Ticks, step.Ticks * 2));
        return TimeSpan.FromTicks((long)(step.Ticks * (0.5 + (Random.Shared.NextDouble() / 2))));
    }

    /// <summary>Back to the shortest step, after a success.</summary>
    public void Reset() => _next = TimeSpan.Zero;
}
