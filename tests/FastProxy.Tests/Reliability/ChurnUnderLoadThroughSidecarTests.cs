using System.Globalization;
using System.Net;
using FastProxy.Sidecar.Tests;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Churn under load through the real sidecar (docs/reliability.md): the same load generator and pod
/// churn as <see cref="ChurnUnderLoadTests"/>, but the proxy is <c>fastproxy run -f DIR</c> and every
/// change is a manifest file rewritten under its file watcher. No client connection may fail, and the
/// sidecar's descriptors return to their idle count afterwards.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class ChurnUnderLoadThroughSidecarTests(ITestOutputHelper output)
{
    private const int Loops = 4;
    private static readonly IPEndPoint Service = new(IPAddress.Parse("127.99.0.3"), 8080);
    private static readonly IPEndPoint Admin = new(IPAddress.Parse("127.99.0.4"), 19901);
    private static readonly TimeSpan WriteInterval = TimeSpan.FromMilliseconds(250);

    [Fact]
    public async Task Pods_churned_through_the_sidecars_file_watcher_under_load_fail_no_client()
    {
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(10));
        var folder = Directory.CreateTempSubdirectory("fastproxy-churn-");
        try
        {
            await using var churner = new FilePodChurner(Path.Combine(folder.FullName, "churn.yaml"), Service, "f", minSelected: 1, maxPods: 5);
            await churner.StartAsync(2);
            await using var sidecar = SidecarProcess.Start("run", "-f", folder.FullName, "--admin", Admin.ToString(), "--dns", "off", "--drain-timeout", "1s");
            await sidecar.WaitForLineAsync("Press Ctrl+C to stop.", TimeSpan.FromSeconds(60));
            churner.EndpointsApi = new Uri($"http://{Admin}/api/endpoints");
            var idle = ProcessFootprint.Of(sidecar.Id);

            var load = new EchoLoad();
            using (var stopChurn = new CancellationTokenSource())
            {
                var churn = churner.RunAsync(WriteInterval, stopChurn.Token);
                var sources = Enumerable.Range(11, Loops).Select(i => IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"127.99.1.{i}"))).ToList();
                try
                {
                    await load.RunAsync(Service, sources, Loops, duration, long.MaxValue, CancellationToken.None).WaitAsync(duration + TimeSpan.FromSeconds(60));
                }
                finally
                {
                    await stopChurn.CancelAsync();
                    await churn.WaitAsync(TimeSpan.FromSeconds(60));
                }
            }

            await churner.StopAllAsync();
            var reloads = sidecar.Lines.Count(l => l.Contains("reloaded:", StringComparison.Ordinal));
            output.WriteLine($"{load.Succeeded} ok, {load.Failed} failed; {churner.Counts}; {churner.Counts.Publishes} file writes, {reloads} sidecar reloads");

            Assert.True(load.Failed == 0, $"{load.Failed} of {load.Succeeded + load.Failed} client connections failed; first errors:\n{string.Join('\n', load.Errors)}");
            Assert.True(load.Succeeded > 0, "the load generator made no connection");
            Assert.Equal(load.Succeeded, churner.BackendConnections);   // each client connection reached exactly one pod once
            Assert.True(reloads > 0 && churner.Counts.Removed > 0, $"the sidecar reloaded {reloads} times, {churner.Counts.Removed} pods removed");
            Assert.Equal(0, churner.Counts.ConnectionsCut);
            var after = await Settle.UntilAsync(() => ProcessFootprint.Of(sidecar.Id), f => f.Sockets <= idle.Sockets && f.Pipes <= idle.Pipes, TimeSpan.FromSeconds(10));
            Assert.True(after.Sockets <= idle.Sockets && after.Pipes <= idle.Pipes, $"sidecar: {idle} idle, {after} after the run");

            await sidecar.SignalAsync("TERM");
            Assert.Equal(0, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            new ReliabilityRow(
                "Churn under load (sidecar file watcher)",
                string.Create(CultureInfo.InvariantCulture, $"{Loops} client loops through `fastproxy run -f DIR`, {load.Succeeded:N0} connections in {duration.TotalSeconds:F0} s, each greeting + 256 B echo + half-close"),
                string.Create(CultureInfo.InvariantCulture, $"manifest file rewritten every {WriteInterval.TotalMilliseconds:F0} ms ({churner.Counts}), {reloads} sidecar reloads; a removed pod's backend stops once /api/endpoints no longer lists it"),
                string.Create(CultureInfo.InvariantCulture, $"0 failed connections; sidecar sockets {idle.Sockets} idle -> {after.Sockets} after, pipes {idle.Pipes} -> {after.Pipes}"),
                ReliabilityRow.FilterCommand(nameof(ChurnUnderLoadThroughSidecarTests))).Record(output);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
