using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using FastProxy.Model;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Clients that vanish mid-stream while healthy streams run through the same proxy (docs/reliability.md): one that
/// resets (SO_LINGER 0) while downloading or uploading, one that just stops reading and writing. The backend's side
/// of each must be closed promptly (at the idle timeout for the silent one) and nothing else touched.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class ClientFaultTests(ITestOutputHelper output)
{
    private const int Seed = 5;
    private const int Transferred = 1024 * 1024;
    private static readonly TimeSpan Hung = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ClientResetsMidStream_BackendSideClosedPromptly()
    {
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(2));
        await using var scenario = await FaultScenario.StartAsync();
        var download = scenario.StartBackends(1, FaultBackend.FastWriter(Seed))[0];
        var upload = scenario.StartBackends(1, FaultBackend.SlowReader(int.MaxValue, Seed))[0];
        upload.Throttled = false;
        var downloadService = await scenario.AddServiceAsync("download", [download]);
        var uploadService = await scenario.AddServiceAsync("upload", [upload]);
        scenario.MarkBaseline();

        var downloadEnds = new List<TimeSpan>();
        var uploadEnds = new List<TimeSpan>();
        foreach (var round in FaultScenario.Rounds(duration))
        {
            // Mid-download: the pod is writing flat out (blocked on full buffers) when the client resets.
            var downloader = await TestClient.ConnectAsync(downloadService);
            Assert.True(StreamPattern.Matches(await downloader.ReadExactlyAsync(Transferred), 0, Seed), "The download arrived intact up to the reset.");
            downloadEnds.Add(Stopwatch.GetElapsedTime(Reset(downloader), await download.WaitForEndedAsync(round + 1, Hung)));

            // Mid-upload: the client resets with its last chunks still on the way.
            var uploader = await TestClient.ConnectAsync(uploadService);
            await StreamPattern.WriteAsync(uploader.Socket, 0, Seed, static () => true, static _ => { }, CancellationToken.None, limit: Transferred);
            uploadEnds.Add(Stopwatch.GetElapsedTime(Reset(uploader), await upload.WaitForEndedAsync(round + 1, Hung)));
        }

        // Whatever part of each upload arrived before the reset was the stream's own bytes.
        Assert.Equal(0, upload.Corrupt);
        await scenario.RecordAsync(
            output,
            "Client vanishes mid-stream (RST, SO_LINGER 0)",
            string.Create(CultureInfo.InvariantCulture, $"{downloadEnds.Count} clients reset after reading 1 MiB of a flat-out download; {uploadEnds.Count} reset right after writing 1 MiB of an upload"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: the backend's side closed {FaultScenario.Summary(downloadEnds)} after the client's reset (download), {FaultScenario.Summary(uploadEnds)} (upload), every byte that arrived was the stream's; fds and connection count back to baseline"),
            "ClientFaultTests.ClientResetsMidStream");
    }

    [Fact]
    public async Task ClientStopsReadingAndWriting_IdleTimeoutClosesBothSides()
    {
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(1));
        var idleTimeout = TimeSpan.FromSeconds(2);
        await using var scenario = await FaultScenario.StartAsync();
        var pod = scenario.StartBackends(1, FaultBackend.FastWriter(Seed))[0];
        var service = await scenario.AddServiceAsync("stalled", [pod], new ConnectionPolicy { IdleTimeout = idleTimeout });
        scenario.MarkBaseline();

        var ends = new List<TimeSpan>();
        foreach (var round in FaultScenario.Rounds(duration))
        {
            // The client reads a little and then goes silent, still connected: the pod's writes fill every buffer
            // on the way and stop. No byte moves from then on, which is idle.
            await using var client = await TestClient.ConnectAsync(service);
            Assert.True(StreamPattern.Matches(await client.ReadExactlyAsync(256 * 1024), 0, Seed), "The stream arrived intact.");
            var silent = Stopwatch.GetTimestamp();
            var after = Stopwatch.GetElapsedTime(silent, await pod.WaitForEndedAsync(round + 1, Hung));
            Assert.True(after >= idleTimeout - TimeSpan.FromMilliseconds(50), $"The pod's side closed {after} after the client went silent, before the idle timeout of {idleTimeout}.");
            ends.Add(after);

            // The client's side was reset too: it reads what its buffer still held, then the reset.
            var (_, reset, _) = await FaultScenario.WaitForEndAsync(client.Socket, silent, Hung, (256 * 1024, Seed));
            Assert.True(reset, "The idle timeout resets the client's side.");
        }

        await scenario.RecordAsync(
            output,
            "Client stops reading and writing (still connected)",
            string.Create(CultureInfo.InvariantCulture, $"{ends.Count} client(s) go silent after 256 KiB of a flat-out download (idle timeout {idleTimeout.TotalSeconds:0} s)"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: both sides reset at the idle timeout, the pod's side {FaultScenario.Summary(ends)} after the client went silent (buffers fill first; the scan runs each second); the client read its buffered bytes intact, then the RST; fds and connection count back to baseline"),
            "ClientFaultTests.ClientStopsReadingAndWriting");
    }

    /// <summary>Closes the client with SO_LINGER 0 (a RST, unsent data dropped); returns when, as a <see cref="Stopwatch"/> timestamp.</summary>
    private static long Reset(TestClient client)
    {
        client.Socket.LingerState = new LingerOption(true, 0);
        client.Socket.Dispose();
        return Stopwatch.GetTimestamp();
    }
}
