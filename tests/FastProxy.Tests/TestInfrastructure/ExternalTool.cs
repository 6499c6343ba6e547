using System.Diagnostics;

namespace FastProxy.Tests;

/// <summary>
/// Runs a Debian tool the tests need (chromium, promtool) as a child process with a bounded wait; on
/// timeout it kills that process and its children by PID. A missing tool fails the test with the
/// package to install: these tests must not pass silently on a machine without the tool.
/// </summary>
internal static class ExternalTool
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    /// <summary>The tool's full path; fails the test when it is not installed.</summary>
    public static string Require(string command, string debianPackage)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, command))
            .FirstOrDefault(File.Exists);
        Assert.True(path is not null, $"'{command}' is not installed: install Debian's {debianPackage} package (apt-get install -y {debianPackage}); .ci/run installs it when missing.");
        return path!;
    }

    public static async Task<Result> RunAsync(string path, IEnumerable<string> arguments, TimeSpan timeout, string? standardInput = null)
    {
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardInput = standardInput is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {path}.");
        try
        {
            // Both streams are read concurrently, so a chatty stderr never blocks the tool on a full pipe.
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput);
                process.StandardInput.Close();
            }

            await process.WaitForExitAsync().WaitAsync(timeout);
            return new Result(process.ExitCode, await stdout.WaitAsync(timeout), await stderr.WaitAsync(timeout));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Path.GetFileName(path)} did not finish within {timeout.TotalSeconds:0} s and was killed.");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
    }
}
