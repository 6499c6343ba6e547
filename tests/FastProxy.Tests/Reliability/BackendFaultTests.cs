using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastProxy.Model;
using FastProxy.Transport.Tests;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Backends that fail while healthy streams run through the same proxy (docs/reliability.md): one that refuses,
/// one that accepts and never answers (and one that never accepts), one that resets mid-stream, one that
/// half-closes. Each must end only the affected connection, cleanly and promptly, and leave no descriptor behind.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class BackendFaultTests(ITestOutputHelper output)
{
    /// <summary>How long a broken connection may take to end before the test calls it hung (a liveness bound, not a speed target).</summary>
    private static readonly TimeSpan Hung = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task BackendRefuses_RetriedOnAReadyPod_WithNoneLeftClientResetAtOnce()
    {
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(2));
        await using var scenario = await FaultScenario.StartAsync();

        // "one-left": pod 1's port is closed, pod 2 is an echo pod. "none-left": three closed ports.
        var block = FaultScenario.NextPodBlock();
        var live = TestBackend.Start("live", new IPEndPoint(IPAddress.Parse(block + "2"), 0));
        scenario.Own(live);
        var port = live.EndPoint.Port;
        var oneLeft = await scenario.AddServiceAsync("one-left", port, [IPAddress.Parse(block + "1"), live.EndPoint.Address]);
        var deadBlock = FaultScenario.NextPodBlock();
        var noneLeft = await scenario.AddServiceAsync("none-left", port, Enumerable.Range(1, 3).Select(i => IPAddress.Parse(deadBlock + i)));
        scenario.MarkBaseline();

        var served = 0;
        var closeTimes = new List<TimeSpan>();
        foreach (var round in FaultScenario.Rounds(duration))
        {
            Assert.Equal("live", await TestClient.WhoServesAsync(oneLeft));
            served++;

            var (after, reset) = await ConnectUntilEndAsync(noneLeft);
            Assert.True(reset, "With every pod refusing, the proxy resets the client as a closed port would (not a FIN, which reads as an empty answer).");
            closeTimes.Add(after);
        }

        Assert.True(await TestIO.EventuallyAsync(() => live.Active == 0), "The live pod still holds a connection.");
        await scenario.RecordAsync(
            output,
            "Backend refuses (port closed)",
            string.Create(CultureInfo.InvariantCulture, $"{served} connections to a service whose pod 1 refuses and pod 2 serves; {closeTimes.Count} to one whose 3 pods all refuse"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: {served}/{served} served by the ready pod (retried); every client of the dead service reset in {FaultScenario.Summary(closeTimes)} (3 connects refused, no hang); fds and connection count back to baseline"),
            "BackendFaultTests.BackendRefuses");
    }

    [Fact]
    public async Task BackendNeverAnswers_IdleTimeoutEndsIt_NeverAccepts_ConnectTimeoutEndsIt()
    {
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(1));
        var idleTimeout = TimeSpan.FromSeconds(2);
        var connectTimeout = TimeSpan.FromSeconds(1);
        var policy = new ConnectionPolicy { IdleTimeout = idleTimeout, ConnectTimeout = connectTimeout };
        await using var scenario = await FaultScenario.StartAsync();

        // "mute" accepts and then neither reads nor writes; "frozen" never accepts (its SYNs are dropped).
        var mute = scenario.StartBackends(1, FaultBackend.Mute);
        var muteService = await scenario.AddServiceAsync("mute", mute, policy);
        var frozenBlock = FaultScenario.NextPodBlock();
        using var blackhole = new BlackholeEndpoint(new IPEndPoint(IPAddress.Parse(frozenBlock + "1"), mute[0].EndPoint.Port));
        var frozenService = await scenario.AddServiceAsync("frozen", mute[0].EndPoint.Port, [IPAddress.Parse(frozenBlock + "1")], policy);
        scenario.MarkBaseline();

        var idleEnds = new List<TimeSpan>();
        var connectEnds = new List<TimeSpan>();
        foreach (var round in FaultScenario.Rounds(duration))
        {
            var started = Stopwatch.GetTimestamp();
            await using var silent = await TestClient.ConnectAsync(muteService);
            await silent.SendAsync("a request nobody reads\n"u8.ToArray());
            await using var stuck = await TestClient.ConnectAsync(frozenService);
            var idle = FaultScenario.WaitForEndAsync(silent.Socket, started, Hung);
            var connect = FaultScenario.WaitForEndAsync(stuck.Socket, started, Hung);

            var (idleAfter, idleReset, _) = await idle;
            var (connectAfter, connectReset, _) = await connect;
            Assert.True(idleReset && connectReset, "Both are reset: the idle timeout and a failed connect end a connection with a RST.");

            // Not before the configured timeouts (the idle scan runs each second, so up to a second after).
            Assert.True(idleAfter >= idleTimeout - TimeSpan.FromMilliseconds(50), $"Reset after {idleAfter}, before the idle timeout of {idleTimeout}.");
            Assert.True(connectAfter >= connectTimeout - TimeSpan.FromMilliseconds(50), $"Reset after {connectAfter}, before the connect timeout of {connectTimeout}.");
            idleEnds.Add(idleAfter);
            connectEnds.Add(connectAfter);

            // The mute pod saw the proxy's reset and let go too.
            await mute[0].WaitForEndedAsync(round + 1, Hung);
        }

        await scenario.RecordAsync(
            output,
            "Backend accepts and never answers; backend never accepts",
            string.Create(CultureInfo.InvariantCulture, $"{idleEnds.Count} client(s) to a pod that accepts and never reads or writes (idle timeout {idleTimeout.TotalSeconds:0} s); {connectEnds.Count} to a pod whose SYNs are dropped (connect timeout {connectTimeout.TotalSeconds:0} s, 1 pod)"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: mute pod's clients reset at the idle timeout ({FaultScenario.Summary(idleEnds)}; the scan runs each second), the mute pod's socket closed too; frozen pod's clients reset at the connect timeout ({FaultScenario.Summary(connectEnds)}); fds and connection count back to baseline"),
            "BackendFaultTests.BackendNeverAnswers");
    }

    [Fact]
    public async Task BackendResetsMidStream_ClientReset_NotRetried()
    {
        const int Before = 256 * 1024;
        const int Seed = 7;
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(2));
        await using var scenario = await FaultScenario.StartAsync();
        var pods = scenario.StartBackends(2, FaultBackend.ResetMidStream(Before, Seed));
        var service = await scenario.AddServiceAsync("resetting", pods);
        scenario.MarkBaseline();

        var ends = new List<TimeSpan>();
        long tail = 0;
        foreach (var round in FaultScenario.Rounds(duration))
        {
            await using var client = await TestClient.ConnectAsync(service);
            Assert.True(StreamPattern.Matches(await client.ReadExactlyAsync(Before), 0, Seed), "The stream before the reset arrived intact.");
            await client.SendAsync(new byte[] { 1 });
            var resetting = Stopwatch.GetTimestamp();

            // What still arrives after the go-ahead must be the stream's continuation, however much of it the reset cut.
            var (after, reset, received) = await FaultScenario.WaitForEndAsync(client.Socket, resetting, Hung, (Before, Seed));
            Assert.True(reset, "A backend's reset reaches the client as a reset: a FIN would tell it the stream ended normally.");
            ends.Add(after);
            tail += received;
        }

        // Once a byte has been forwarded, the stream is the backend's: the proxy never reconnects it elsewhere.
        Assert.Equal(ends.Count, pods.Sum(p => p.Accepted));
        await scenario.RecordAsync(
            output,
            "Backend resets mid-stream (SO_LINGER 0)",
            string.Create(CultureInfo.InvariantCulture, $"{ends.Count} streams: the pod sends 256 KiB, the client answers, the pod sends 64 KiB more and resets"),
            string.Create(CultureInfo.InvariantCulture, $"nothing unannounced: the first 256 KiB verified each time, {tail / 1024} KiB of tails verified as the stream's continuation, then the client saw a RST ({FaultScenario.Summary(ends)} after its go-ahead); {pods.Sum(p => p.Accepted)} backend connections for {ends.Count} clients (no retry of a started stream); fds and connection count back to baseline"),
            "BackendFaultTests.BackendResetsMidStream");
    }

    [Fact]
    public async Task BackendHalfCloses_ClientGetsEofAndKeepsSending_BackendGetsEverything()
    {
        const int Answer = 64 * 1024;
        const int Upload = 1024 * 1024;
        const int AnswerSeed = 3;
        const int UploadSeed = 4;
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(2));
        await using var scenario = await FaultScenario.StartAsync();
        var pods = scenario.StartBackends(1, FaultBackend.HalfCloseAfterAnswer(Answer, AnswerSeed, UploadSeed));
        var service = await scenario.AddServiceAsync("half-closing", pods);
        scenario.MarkBaseline();

        var closes = new List<TimeSpan>();
        foreach (var round in FaultScenario.Rounds(duration))
        {
            await using var client = await TestClient.ConnectAsync(service);

            // The backend's FIN arrives as EOF after exactly its answer; the client's direction stays open.
            var answer = await client.ReadToEndAsync();
            Assert.Equal(Answer, answer.Length);
            Assert.True(StreamPattern.Matches(answer, 0, AnswerSeed), "The answer arrived intact.");

            await StreamPattern.WriteAsync(client.Socket, 0, UploadSeed, static () => true, static _ => { }, CancellationToken.None, limit: Upload);
            client.ShutdownSend();
            var finished = Stopwatch.GetTimestamp();

            // The client's FIN reaches the backend after every byte; the backend then closes, and so does the proxy.
            var ended = await pods[0].WaitForEndedAsync(round + 1, Hung);
            closes.Add(Stopwatch.GetElapsedTime(finished, ended));
            Assert.Equal((long)Upload * (round + 1), pods[0].BytesRead);
            Assert.Equal(0, pods[0].Corrupt);
        }

        await scenario.RecordAsync(
            output,
            "Backend half-closes (shutdown(SHUT_WR) after answering, keeps reading)",
            string.Create(CultureInfo.InvariantCulture, $"{closes.Count} connections: the pod answers 64 KiB and half-closes; after EOF the client uploads 1 MiB and half-closes"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: every answer intact then EOF; {(long)Upload * closes.Count / (1024 * 1024)} MiB uploaded after the pod's FIN, all received byte-exact by the pod; the client's FIN reached it {FaultScenario.Summary(closes)} after the last byte; then full close, fds and connection count back to baseline"),
            "BackendFaultTests.BackendHalfCloses");
    }

    /// <summary>Connects and waits for the end; the proxy's reset may come so fast that the connect itself reports it.</summary>
    private static async Task<(TimeSpan After, bool Reset)> ConnectUntilEndAsync(IPEndPoint service)
    {
        var connecting = Stopwatch.GetTimestamp();
        try
        {
            await using var client = await TestClient.ConnectAsync(service);
            var (after, reset, _) = await FaultScenario.WaitForEndAsync(client.Socket, connecting, Hung);
            return (after, reset);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (Stopwatch.GetElapsedTime(connecting), true);
        }
    }
}
