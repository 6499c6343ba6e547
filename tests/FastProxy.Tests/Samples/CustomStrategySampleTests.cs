using System.Diagnostics;

namespace FastProxy.Samples.Tests;

/// <summary>
/// Runs samples/FastProxy.Samples.CustomStrategy as a user would and checks what it prints. Uses the
/// sample's fixed loopback addresses (127.0.1.21-22:9001, 127.96.0.21:9001).
/// </summary>
public sealed class CustomStrategySampleTests
{
    [Fact]
    public async Task Sample_PrimaryServes_ThenTheBackupWhenThePrimaryDies()
    {
        var sample = Path.Combine(AppContext.BaseDirectory, "FastProxy.Samples.CustomStrategy.dll");
        var start = new ProcessStartInfo("dotnet", [sample]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await errors}");
            Assert.Equal(
                ["connection 1: served by db-primary", "connection 2: served by db-primary", "connection 3: served by db-primary", "primary down: served by db-backup"],
                (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
