namespace FastProxy.Balancing;

/// <summary>Small, stable integer mixing shared by the hashing strategies.</summary>
internal static class HashMixing
{
    // The 64-bit golden ratio, as SplitMix64 uses it: consecutive attempt numbers times this constant
    // differ in many high bits, so the finaliser below turns them into unrelated keys.
    private const ulong Golden = 0x9E3779B97F4A7C15;

    /// <summary>The SplitMix64 finaliser (Stafford's Mix13): a bijection whose every output bit depends on every input bit.</summary>
    public static ulong Mix(ulong value)
    {
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EB;
        return value ^ (value >> 31);
    }

    /// <summary>
    /// A key for retry <paramref name="attempt"/> of <paramref name="key"/>: unrelated to the key itself, so a
    /// retry lands on an independent table slot, yet the same on every machine.
    /// </summary>
    public static ulong ForAttempt(ulong key, int attempt) => Mix(key ^ ((ulong)(uint)attempt * Golden));

    /// <summary>
    /// Maps a uniformly distributed 64-bit hash onto [0, <paramref name="range"/>) by taking the high half of
    /// hash × range (Lemire's multiply-shift): as even as <c>hash % range</c> for a good hash, without a
    /// 64-bit division on the accept path.
    /// </summary>
    public static ulong Reduce(ulong hash, ulong range) => Math.BigMul(hash, range, out _);
}
