namespace FastProxy.Balancing;

/// <summary>
/// Counter-based SplitMix64 (Steele, Lea and Flood, 2014): the n-th value of a stream is the SplitMix64
/// finaliser applied to <c>seed + n * golden</c>. Threads share the stream through one
/// <see cref="Interlocked"/> counter instead of a generator state, so drawing is lock-free and
/// allocation-free, and a value already drawn can be recomputed from its position (the random
/// strategies use that to recognise what the first attempt of a retried connection picked).
/// </summary>
internal static class SplitMix64
{
    /// <summary>2^64 divided by the golden ratio: SplitMix64's stream increment.</summary>
    private const ulong Golden = 0x9E3779B97F4A7C15;

    /// <summary>The seed a strategy built with <paramref name="seed"/> uses: the given one, or a fresh one per picker.</summary>
    public static ulong Seed(ulong? seed)
#pragma warning disable CA5394 // Load spreading needs unpredictability, not secrecy.
        => seed ?? (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
#pragma warning restore CA5394

    /// <summary>The value at <paramref name="position"/> of the stream <paramref name="seed"/>.</summary>
    public static ulong At(ulong seed, long position)
    {
        return HashMixing.Mix(seed + ((ulong)position * Golden));
    }
}
