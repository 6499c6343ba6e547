using FastProxy.Manifests.Mapping;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// How long each reliability scenario holds its load. CI runs every scenario for its own short default;
/// the soak command sets <c>FASTPROXY_SOAK_DURATION</c> (Go syntax or whole seconds: <c>10m</c>,
/// <c>1h</c>, <c>90</c>) and every scenario then holds its load that long instead.
/// </summary>
internal static class SoakSettings
{
    public const string DurationVariable = "FASTPROXY_SOAK_DURATION";

    /// <summary>The soak duration when one is set, otherwise <paramref name="ciDefault"/>.</summary>
    public static TimeSpan DurationOr(TimeSpan ciDefault)
    {
        var text = Environment.GetEnvironmentVariable(DurationVariable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return ciDefault;
        }

        return Durations.TryParse(text, out var duration) && duration > TimeSpan.Zero
            ? duration
            : throw new InvalidOperationException($"{DurationVariable}: expected a duration such as 10m, 1h or 90, got '{text}'");
    }

    /// <summary>True when the soak command runs the suite (scenarios may then scale their load up).</summary>
    public static bool IsSoak => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(DurationVariable));

    /// <summary>For a CsCheck fuzzer's <c>time</c>: the soak duration in whole seconds, or -1 in CI (run its count).</summary>
    public static int FuzzSeconds => IsSoak ? (int)Math.Ceiling(DurationOr(TimeSpan.Zero).TotalSeconds) : -1;
}
