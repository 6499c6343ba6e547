using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FastProxy.Samples.Tests;

/// <summary>
/// Runs samples/FastProxy.Samples.ClientSideBalancing as a user would: HttpClient calls
/// http://payments:3000/ through the connector, with no proxy. Uses the sample's fixed loopback
/// addresses (pods 127.0.7.1-3:3000, virtual IP 127.96.0.70).
/// </summary>
public sealed partial class ClientSideBalancingSampleTests
{
    [Fact]
    public async Task Sample_HttpClientReachesEveryPodDirectly_AndNothingListensOnTheVirtualIP()
    {
        var sample = Path.Combine(AppContext.BaseDirectory, "FastProxy.Samples.ClientSideBalancing.dll");
        var start = new ProcessStartInfo("dotnet", [sample]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
            var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await errors}\n{string.Join('\n', lines)}");

            var answers = lines.Select(l => RequestLine().Match(l)).Where(m => m.Success).ToList();
            Assert.Equal(6, answers.Count);
            Assert.Equal(["payments-1", "payments-2", "payments-3"], answers.Select(m => m.Groups["pod"].Value).Distinct().Order());

            // The pod's peer is the sample's own socket: the connection had no hop in between.
            var plain = Assert.Single(lines, l => l.StartsWith("plain stream:", StringComparison.Ordinal));
            var direct = PlainLine().Match(plain);
            Assert.True(direct.Success, plain);
            Assert.Equal(direct.Groups["local"].Value, direct.Groups["peer"].Value);
            Assert.Matches(@"^127\.0\.7\.[1-3]:3000$", direct.Groups["pod"].Value);

            Assert.Contains("virtual IP 127.96.0.70:3000: connection refused, no proxy listens", lines);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [GeneratedRegex(@"^request \d: (?<pod>payments-\d) answered; it saw the client at 127\.0\.0\.1:\d+$")]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"^plain stream: this process (?<local>[\d.:]+) -> (?<pod>[\d.:]+); payments-\d answered; it saw the client at (?<peer>[\d.:]+)$")]
    private static partial Regex PlainLine();
}
