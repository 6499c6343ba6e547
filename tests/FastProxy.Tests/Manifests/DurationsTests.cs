using FastProxy.Manifests.Mapping;

namespace FastProxy.Manifests.Tests;

/// <summary>The one duration grammar of every <c>fastproxy.io/</c> annotation and the sidecar's options.</summary>
public sealed class DurationsTests
{
    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("250ms", 250)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2h", 7_200_000)]
    [InlineData(" 10s ", 10_000)]
    [InlineData("45", 45_000)]
    public void GoSyntaxOrWholeSeconds(string text, int milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("5 s")]
    [InlineData("-5s")]
    [InlineData("5d")]
    [InlineData("1..2s")]
    [InlineData("5 minutes")]
    public void Malformed_Refused(string text) => Assert.False(Durations.TryParse(text, out _));

    [Fact]
    public void FarBeyondAnyLimit_IsClamped_SoTheCatalogReportsTheLimit()
    {
        Assert.True(Durations.TryParse("99999999999h", out var duration));
        Assert.True(duration > TimeSpan.FromDays(36500));
    }
}
