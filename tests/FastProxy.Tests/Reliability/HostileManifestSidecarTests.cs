using System.Globalization;
using System.Net;
using FastProxy.Manifests.Tests;
using FastProxy.Sidecar.Tests;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// The hostile manifest corpus fed to the real sidecar (<c>fastproxy run -f DIR</c>) while it serves a good
/// configuration: each hostile file, dropped into the watched folder in place of the one before, fails the
/// reload with its error in the log, the last good configuration keeps serving through its virtual IP, and
/// the process stays up. Addresses: the pod at 127.201.R.1, the node at .200, admin at .201, the virtual IP
/// 127.100.R.1 (R random per run).
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class HostileManifestSidecarTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Reload = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task EachHostileFile_FailsTheReloadWithItsError_AndTheLastGoodConfigurationKeepsServing()
    {
        var r = Random.Shared.Next(1, 250);
        var prefix = $"127.201.{r}.";
        var vip = new IPEndPoint(IPAddress.Parse($"127.100.{r}.1"), 8080);
        await using var pod = TestBackend.Start("good-1", new IPEndPoint(IPAddress.Parse(prefix + "1"), 0));
        using var folder = new TempFolder();
        folder.Write("good.yaml", $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: good
            spec:
              clusterIP: {vip.Address}
              selector:
                app: good
              ports:
                - port: {vip.Port}
                  targetPort: {pod.EndPoint.Port}
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: good-1
              labels:
                app: good
            status:
              podIP: {prefix}1
            """);

        await using var sidecar = SidecarProcess.Start("run", "-f", folder.Path, "--node-address", prefix + "200", "--admin", prefix + "201:9901", "--dns", "off");
        await sidecar.WaitForLineAsync("Press Ctrl+C to stop.", Startup);
        Assert.Equal("good-1", await TestClient.WhoServesAsync(vip));

        string? previous = null;
        var failedReloads = 0;
        var served = 0;
        foreach (var manifest in HostileManifestCorpus.All)
        {
            // The previous hostile file goes and this one comes in the same debounce window: the sidecar sees
            // the good file plus this one alone.
            if (previous is not null)
            {
                File.Delete(previous);
            }

            previous = Path.Combine(folder.Path, manifest.Name);
            SidecarRunTests.ReplaceByRename(previous, manifest.Content);
            failedReloads++;
            await WaitForCountAsync(sidecar, "reload failed", failedReloads, manifest.Name);
            Assert.Contains(sidecar.Lines, line => line.Contains(manifest.Name, StringComparison.Ordinal) && line.Contains(manifest.ExpectedReason, StringComparison.Ordinal));

            Assert.Equal("good-1", await TestClient.WhoServesAsync(vip));
            served++;
        }

        // With the last hostile file gone the configuration is whole again, and still served.
        File.Delete(previous!);
        await sidecar.WaitForLineAsync("reloaded: no change", Reload);
        Assert.Equal("good-1", await TestClient.WhoServesAsync(vip));
        var peakKilobytes = PeakResidentKilobytes(sidecar.Id);
        Assert.DoesNotContain(sidecar.Lines, line => line.Contains("Unhandled exception", StringComparison.Ordinal));
        var longest = sidecar.Lines.Max(line => line.Length);
        Assert.True(longest <= 4096, $"a log line of {longest} characters");

        await sidecar.SignalAsync("TERM");
        Assert.Equal(0, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        new ReliabilityRow(
            "Hostile manifests (sidecar reload)",
            "a good config served through its VIP; `run -f DIR` watching",
            string.Create(CultureInfo.InvariantCulture, $"{HostileManifestCorpus.All.Count} hostile files dropped in one after another ({HostileManifestCorpus.TotalBytes / 1024.0 / 1024:0} MB)"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: {failedReloads} reloads failed with the file's error logged, {served}/{failedReloads} connections through the VIP served by the last good config, process up, exit 0 on SIGTERM; longest log line {longest} characters; peak RSS {peakKilobytes / 1024} MB"),
            ReliabilityRow.FilterCommand(nameof(HostileManifestSidecarTests))).Record(output);
    }

    private static async Task WaitForCountAsync(SidecarProcess sidecar, string text, int count, string file)
    {
        var deadline = DateTime.UtcNow + Reload;
        while (sidecar.Lines.Count(line => line.Contains(text, StringComparison.Ordinal)) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{file}: no \"{text}\" #{count} within {Reload}; output:\n{sidecar.Output[^Math.Min(sidecar.Output.Length, 4000)..]}");
            await Task.Delay(50);
        }
    }

    /// <summary>The process's peak resident set (VmHWM), from /proc.</summary>
    private static long PeakResidentKilobytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
