using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastProxy.Forwarding.Udp;
using FastProxy.Model;
using FastProxy.Transport.Tests;
using FastProxy.Udp.Tests;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// A UDP flood from thousands of distinct source addresses (127.202.0-79.1-250, one socket each, what a
/// spoofed flood looks like to the session table) at a UDP service whose table is capped: the table never
/// passes its cap (least recently used sessions are evicted), memory and descriptors stay bounded, a
/// legitimate client's round trips keep working during the flood, and every flood session is swept once idle.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class UdpFloodTests(ITestOutputHelper output)
{
    private const int Cap = 1_000;
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task FloodFromManySources_StaysAtTheCap_TheLegitimateClientIsServed_AndSessionsAreSweptAfter()
    {
        var sources = SoakSettings.IsSoak ? 20_000 : 5_000;
        var floodFor = SoakSettings.DurationOr(TimeSpan.FromSeconds(3));
        await using var host = UdpTestHost.Create();
        var pod = host.StartBackends(1)[0];
        pod.RecordSources = false;
        await host.StartAsync(host.EchoService() with { Udp = new UdpSessionPolicy { MaxSessions = Cap, IdleTimeout = Idle } });
        using var legitimate = host.NewClient();
        Assert.Equal("pod-1", await legitimate.WhoAsync(host.VirtualEndPoint));
        var before = ProcessResources.Measure();

        using var stop = new CancellationTokenSource();
        var roundTrips = Task.Run(() => RoundTripsAsync(legitimate, host.VirtualEndPoint, stop.Token));
        var maxCount = 0;
        var sent = 0;
        var rounds = 0;
        var flood = Stopwatch.StartNew();
        do
        {
            // Round after round over the same addresses until the duration has passed (3 s in CI, the soak's in a soak).
            for (var i = 0; i < sources; i++)
            {
                using var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                attacker.Bind(new IPEndPoint(IPAddress.Parse(FormattableString.Invariant($"127.202.{i / 250}.{(i % 250) + 1}")), 0));
                attacker.SendTo("flood"u8, host.VirtualEndPoint);
                sent++;
                maxCount = Math.Max(maxCount, host.Table.Count);
                if (sent % 50 == 0)
                {
                    // Bursts of 50: fast enough to fill the table within the idle timeout, slow enough that the
                    // proxy's receive buffer, not the test's pace, is what the flood is up against.
                    await Task.Delay(1);
                }
            }

            rounds++;
        }
        while (flood.Elapsed < floodFor);

        maxCount = Math.Max(maxCount, host.Table.Count);
        var atEnd = ProcessResources.Measure();
        var sessionsAtEnd = host.Table.Count;
        await stop.CancelAsync();
        var (ok, failed, latencies) = await roundTrips;

        // The cap held, and it was reached: a flood with room left would not test eviction.
        Assert.True(maxCount <= Cap, $"{maxCount} sessions, cap {Cap}");
        var created = host.Table.Counters.Created;
        var evicted = host.Table.Counters.Ended(UdpSessionEnd.Evicted);
        Assert.True(created >= Cap && evicted > 0, $"created {created}, evicted {evicted}");
        Assert.True(atEnd.FileDescriptors <= before.FileDescriptors + Cap + 16, $"descriptors {before.FileDescriptors} -> {atEnd.FileDescriptors}");
        var heapPerSession = (atEnd.ManagedHeapBytes - before.ManagedHeapBytes) / (double)Math.Max(sessionsAtEnd, 1);
        Assert.True(atEnd.ManagedHeapBytes - before.ManagedHeapBytes < 64L * 1024 * 1024, $"heap grew {(atEnd.ManagedHeapBytes - before.ManagedHeapBytes) / 1024} KB");

        // The legitimate client was served while it lasted (UDP may drop a datagram when the proxy's receive
        // buffer is full of flood, which is why this is a rate and not "all"), and is served right after.
        var rate = ok / (double)Math.Max(ok + failed, 1);
        Assert.True(ok >= 10 && rate >= 0.9, $"{ok} round trips answered, {failed} not");
        Assert.Equal("pod-1", await legitimate.WhoAsync(host.VirtualEndPoint));

        // Idle: every flood session is swept; the descriptors and heap they held come back.
        Assert.True(await TestIO.EventuallyAsync(() => host.Table.Count <= 1, Idle + TimeSpan.FromSeconds(10)), $"{host.Table.Count} sessions left");
        var swept = await ProcessResources.SettleAsync(before, fdSlack: 8, TimeSpan.FromSeconds(10));
        Assert.True(swept.FileDescriptors <= before.FileDescriptors + 8, $"descriptors {before.FileDescriptors} -> {swept.FileDescriptors} after the sweep");

        latencies.Sort();
        var p50 = latencies.Count > 0 ? latencies[latencies.Count / 2] : 0;
        var p99 = latencies.Count > 0 ? latencies[Math.Min(latencies.Count - 1, latencies.Count * 99 / 100)] : 0;
        new ReliabilityRow(
            "UDP flood from many sources",
            string.Create(CultureInfo.InvariantCulture, $"1 legitimate client doing round trips throughout: {ok}/{ok + failed} answered ({rate:P1}), p50 {p50:0.00} ms, p99 {p99:0.00} ms"),
            string.Create(CultureInfo.InvariantCulture, $"{sent:N0} datagrams from {sources:N0} distinct source addresses ({rounds} round(s), {flood.Elapsed.TotalSeconds:0.0} s), session cap {Cap}, idle timeout {Idle.TotalSeconds:0} s"),
            string.Create(CultureInfo.InvariantCulture, $"nothing kept beyond the cap: at most {maxCount} sessions ({created:N0} created, {evicted:N0} evicted LRU); heap {heapPerSession / 1024:0.0} KB per session, {(atEnd.ManagedHeapBytes - before.ManagedHeapBytes) / 1024.0 / 1024:0.0} MB at the end of the flood; descriptors {before.FileDescriptors} -> {atEnd.FileDescriptors} -> {swept.FileDescriptors} after the sweep"),
            ReliabilityRow.FilterCommand(nameof(UdpFloodTests))).Record(output);
    }

    /// <summary>Round trips until stopped: each a numbered datagram echoed back within a second, its time recorded.</summary>
    private static async Task<(int Ok, int Failed, List<double> LatenciesMs)> RoundTripsAsync(UdpTestClient client, IPEndPoint service, CancellationToken stop)
    {
        var ok = 0;
        var failed = 0;
        var latencies = new List<double>();
        for (var n = 0; !stop.IsCancellationRequested && n < 1_000_000; n++)
        {
            var message = System.Text.Encoding.ASCII.GetBytes(FormattableString.Invariant($"legit-{n}"));
            var watch = Stopwatch.StartNew();
            await client.SendAsync(service, message);
            try
            {
                // Skip late echoes of earlier round trips: only this one's counts.
                while (true)
                {
                    var (data, _) = await client.ReceiveAsync(ReplyTimeout - watch.Elapsed);
                    if (data.AsSpan().SequenceEqual(message))
                    {
                        break;
                    }
                }

                ok++;
                latencies.Add(watch.Elapsed.TotalMilliseconds);
            }
            catch (Exception ex) when (ex is TimeoutException or ArgumentOutOfRangeException)
            {
                failed++;
            }

            await Task.Delay(5, CancellationToken.None);
        }

        return (ok, failed, latencies);
    }
}
