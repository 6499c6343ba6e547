namespace FastProxy.Tests;

/// <summary>Prometheus' own checker (<c>promtool check metrics</c>, Debian package prometheus) for exposition text.</summary>
internal static class Promtool
{
    /// <summary>Fails the test with promtool's findings when the text is not valid, lint-clean exposition.</summary>
    public static async Task CheckMetricsAsync(string exposition)
    {
        var promtool = ExternalTool.Require("promtool", "prometheus");
        var result = await ExternalTool.RunAsync(promtool, ["check", "metrics"], TimeSpan.FromSeconds(30), exposition);
        Assert.True(result.ExitCode == 0, $"promtool check metrics failed ({result.ExitCode}):\n{result.StandardOutput}{result.StandardError}");
    }
}
