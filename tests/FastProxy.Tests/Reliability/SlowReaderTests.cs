using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastProxy.Forwarding;
using FastProxy.Transport.Sockets;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Backpressure (docs/reliability.md): one side reads slowly while the other pushes as fast as it can, through the
/// socket relay and through the pipe copy. What the proxy holds for the slow reader must stay within the socket
/// buffers and its own thresholds (never grow with what is sent), and once the reader speeds up every byte must
/// arrive intact.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class SlowReaderTests(ITestOutputHelper output)
{
    private const int Rate = 128 * 1024;
    private const int Seed = 11;

    /// <summary>SO_SNDBUF/SO_RCVBUF asked for on the two end sockets (Linux doubles it for bookkeeping).</summary>
    private const int EndBuffer = 64 * 1024;

    /// <summary>The managed heap may grow this much under the load (pools warming up), never with the bytes sent.</summary>
    private const long HeapBound = 16 * 1024 * 1024;

    private static readonly TimeSpan Hung = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SlowBackend_ClientPushesFlatOut_ProxyBufferingBounded_NothingLost(bool relay)
    {
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(3));
        await using var scenario = await FaultScenario.StartAsync(b => b.Configure(o => o.UseSocketRelay = relay));
        var pod = scenario.StartBackends(1, FaultBackend.SlowReader(Rate, Seed), receiveBuffer: EndBuffer)[0];
        var service = await scenario.AddServiceAsync("slow-reader", [pod]);
        var baseline = scenario.MarkBaseline();
        using var client = await ConnectAsync(service, s => s.SendBufferSize = EndBuffer);

        long written = 0;
        var writing = 1;
        var writer = StreamPattern.WriteAsync(client, 0, Seed, () => Volatile.Read(ref writing) == 1, n => Interlocked.Add(ref written, n), CancellationToken.None);
        var load = await HoldAsync(duration, () => Interlocked.Read(ref written) - pod.BytesRead, baseline);
        var readSlowly = pod.BytesRead;

        // Release: the pod drains at full speed, the client stops and half-closes. Everything written must arrive, then the pod's FIN.
        pod.Throttled = false;
        Volatile.Write(ref writing, 0);
        var sent = await writer.WaitAsync(Hung);
        client.Shutdown(SocketShutdown.Send);
        await pod.WaitForEndedAsync(1, Hung);
        Assert.Equal(sent, pod.BytesRead);
        Assert.Equal(0, pod.Corrupt);
        var (_, reset, _) = await FaultScenario.WaitForEndAsync(client, Stopwatch.GetTimestamp(), Hung);
        Assert.False(reset, "The pod's FIN, not a reset, ends the connection.");
        client.Dispose();

        await RecordAsync(scenario, relay, "Slow reader backend", load, sent, readSlowly, nameof(SlowBackend_ClientPushesFlatOut_ProxyBufferingBounded_NothingLost));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SlowClient_BackendPushesFlatOut_ProxyBufferingBounded_NothingLost(bool relay)
    {
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(3));
        await using var scenario = await FaultScenario.StartAsync(b => b.Configure(o => o.UseSocketRelay = relay));
        var pod = scenario.StartBackends(1, FaultBackend.FastWriter(Seed), sendBuffer: EndBuffer)[0];
        var service = await scenario.AddServiceAsync("fast-writer", [pod]);
        var baseline = scenario.MarkBaseline();
        using var client = await ConnectAsync(service, s => s.ReceiveBufferSize = EndBuffer);

        long read = 0;
        var throttled = 1;
        var reader = StreamPattern.ReadToEndAsync(client, Seed, Rate, () => Volatile.Read(ref throttled) == 1, n => Interlocked.Add(ref read, n), CancellationToken.None);
        var load = await HoldAsync(duration, () => pod.BytesWritten - Interlocked.Read(ref read), baseline);
        var readSlowly = Interlocked.Read(ref read);

        // Release: the pod stops and half-closes, the client reads at full speed to the FIN. Everything written must arrive.
        pod.Writing = false;
        Volatile.Write(ref throttled, 0);
        var (received, intact) = await reader.WaitAsync(Hung);
        Assert.True(intact, "The stream arrived intact.");
        Assert.Equal(pod.BytesWritten, received);
        client.Shutdown(SocketShutdown.Send);
        await pod.WaitForEndedAsync(1, Hung);
        client.Dispose();

        await RecordAsync(scenario, relay, "Slow reader client", load, received, readSlowly, nameof(SlowClient_BackendPushesFlatOut_ProxyBufferingBounded_NothingLost));
    }

    /// <summary>
    /// The most that may be between the writer and the slow reader. Kernel: the two end sockets' fixed buffers (Linux
    /// doubles what was asked), the proxy's receiving socket autotuned up to tcp_rmem's maximum and its sending one up to
    /// tcp_wmem's. Proxy: the relay holds one splice pipe and one bulk block per direction; the pipe copy holds the input
    /// pipe up to its pause threshold (plus the block being received) and hands one read of it to the output pipe, whose
    /// flush then waits above its own threshold.
    /// </summary>
    private static (long Total, long Proxy) Bound(bool relay)
    {
        var transport = new SocketTransportOptions();
        var proxy = (2 * (transport.MaxReadBufferSize + transport.MaxWriteBufferSize)) + SocketQueueSettings.BulkBlockSize;
        if (relay && OperatingSystem.IsLinux())
        {
            proxy = SpliceRelay.PipeSize + SocketQueueSettings.BulkBlockSize;
        }

        return ((2 * 2L * EndBuffer) + SysctlMax("tcp_rmem") + SysctlMax("tcp_wmem") + proxy, proxy);
    }

    private static long SysctlMax(string name)
        => long.Parse(File.ReadAllText($"/proc/sys/net/ipv4/{name}").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[2], CultureInfo.InvariantCulture);

    /// <summary>Samples the bytes between writer and reader every 50 ms for <paramref name="duration"/>; then the heap, with the buffers still full.</summary>
    private static async Task<(long MaxInFlight, long HeapGrowth, TimeSpan Held)> HoldAsync(TimeSpan duration, Func<long> inFlight, ProcessResources baseline)
    {
        long max = 0;
        var clock = Stopwatch.StartNew();
        for (var sample = 0; sample < 100_000_000 && clock.Elapsed < duration; sample++)
        {
            max = Math.Max(max, inFlight());
            await Task.Delay(50);
        }

        max = Math.Max(max, inFlight());
        return (max, ProcessResources.Measure().ManagedHeapBytes - baseline.ManagedHeapBytes, clock.Elapsed);
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint service, Action<Socket> configureBeforeConnect)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            configureBeforeConnect(socket);
            await socket.ConnectAsync(service).WaitAsync(TimeSpan.FromSeconds(10));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task RecordAsync(FaultScenario scenario, bool relay, string title, (long MaxInFlight, long HeapGrowth, TimeSpan Held) load, long delivered, long readSlowly, string test)
    {
        var (bound, proxy) = Bound(relay);

        // Non-vacuous: the writer really was held back (more than the end buffers were waiting), and never beyond the bound.
        Assert.True(load.MaxInFlight > 2L * EndBuffer, $"Only {load.MaxInFlight} bytes were ever in flight: the reader was not the bottleneck.");
        Assert.True(load.MaxInFlight <= bound, $"{load.MaxInFlight} bytes in flight, more than the {bound} the buffers on the way can hold: the proxy buffers without bound.");
        Assert.True(load.HeapGrowth < HeapBound, $"The managed heap grew by {load.HeapGrowth} bytes under the load.");

        const double MiB = 1024.0 * 1024;
        await scenario.RecordAsync(
            output,
            string.Create(CultureInfo.InvariantCulture, $"{title} ({Rate / 1024} KiB/s), {(relay ? "socket relay + splice" : "pipe copy")}"),
            string.Create(CultureInfo.InvariantCulture, $"the other side writes flat out for {load.Held.TotalSeconds:0.0} s while the reader is throttled to {Rate / 1024} KiB/s ({readSlowly / MiB:0.00} MiB read slowly); then the reader is released"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: {delivered / MiB:0.0} MiB delivered byte-exact; at most {load.MaxInFlight / MiB:0.0} MiB between writer and reader (bound {bound / MiB:0.0} MiB = end buffers + tcp_rmem/tcp_wmem max + the proxy's own {proxy / 1024} KiB); managed heap {load.HeapGrowth / MiB:+0.0;-0.0} MiB under load; fds and connection count back to baseline"),
            $"SlowReaderTests.{test}");
    }
}
