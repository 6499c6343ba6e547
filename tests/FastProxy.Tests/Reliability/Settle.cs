using System.Diagnostics;

namespace FastProxy.Tests.Reliability;

/// <summary>Bounded polling for state that settles asynchronously (counters, open connections, a sidecar's routes).</summary>
internal static class Settle
{
    /// <summary>Polls <paramref name="value"/> until <paramref name="done"/> holds for it or <paramref name="bound"/> passes; returns the last value.</summary>
    public static Task<T> UntilAsync<T>(Func<T> value, Func<T, bool> done, TimeSpan bound)
        => UntilAsync(() => Task.FromResult(value()), done, bound);

    /// <inheritdoc cref="UntilAsync{T}(Func{T}, Func{T, bool}, TimeSpan)"/>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> value, Func<T, bool> done, TimeSpan bound)
    {
        var waited = Stopwatch.StartNew();
        var now = await value();
        while (!done(now) && waited.Elapsed < bound)
        {
            await Task.Delay(20);
            now = await value();
        }

        return now;
    }
}
