using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastProxy.Connections.Tests;
using FastProxy.Model;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Connection floods beyond the configured limit (docs/reliability.md): with <c>MaxConnections</c> held
/// by admitted clients, far more connections arrive at once; every one of them must be refused (reset)
/// promptly rather than wait without bound, the admitted ones must keep working, and with
/// <c>LimitAction.Queue</c> only <c>QueueLimit</c> may wait, each until its queue timeout.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class ConnectionFloodTests(ITestOutputHelper output)
{
    private const int Limit = 100;
    private const int QueueLimit = 200;
    private const int Flood = 2_000;
    private const int FloodConcurrency = 500;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(LimitAction.Reject)]
    [InlineData(LimitAction.Queue)]
    public async Task A_flood_beyond_the_limit_is_refused_at_once_and_the_admitted_connections_keep_working(LimitAction action)
    {
        var policy = new ConnectionPolicy { MaxConnections = Limit, LimitAction = action, QueueLimit = QueueLimit, QueueTimeout = TimeSpan.FromSeconds(5) };
        await using var env = await PolicyTestEnvironment.StartAsync(policy, pods: 2);
        var admitted = new List<TestClient>();
        try
        {
            for (var i = 0; i < Limit; i++)
            {
                var (client, pod) = await env.ConnectAsync();
                admitted.Add(client);
                Assert.StartsWith("pod-", pod, StringComparison.Ordinal);
            }

            var queued = action == LimitAction.Queue ? QueueLimit : 0;
            var flood = FloodAsync(env.VirtualEndPoint);
            var reason = action == LimitAction.Queue ? "reason=queue_full" : "reason=limit";
            var refusedAtOnce = await Settle.UntilAsync(() => env.Counter("fastproxy.connections.refused", reason), n => n >= Flood - queued, Bound);
            Assert.Equal(Flood - queued, refusedAtOnce);

            // The queued ones (Queue only) wait for a slot that never frees, until their queue timeout.
            env.Time.Advance(policy.QueueTimeout + TimeSpan.FromSeconds(1));
            var outcomes = await flood.WaitAsync(Bound);
            Assert.All(outcomes, o => Assert.True(o.Refused, "a flood connection beyond the limit was answered by a pod"));
            Assert.Equal(queued, env.Counter("fastproxy.connections.refused", "reason=queue_timeout"));

            foreach (var client in admitted)
            {
                await ConnectionAssert.EchoesAsync(client);
            }

            Assert.Equal(Limit, await Settle.UntilAsync(() => env.Proxy.ActiveConnections, n => n == Limit, Bound));
            var times = outcomes.Where(o => o.Refused).Select(o => o.Elapsed.TotalMilliseconds).Order().ToArray();
            var atOnce = times.Take(Flood - queued).ToArray();
            new ReliabilityRow(
                $"Connection flood beyond the limit ({action})",
                Invariant($"{Limit} connections admitted and held (MaxConnections {Limit}{(queued > 0 ? $", QueueLimit {QueueLimit}" : "")}), {Flood:N0} more opened {FloodConcurrency} at a time"),
                Invariant($"{Flood:N0} connections over the limit"),
                Invariant($"0: the {Limit} admitted kept echoing; {Flood - queued:N0} refused (reset) at once, time from connect to reset p50 {Percentile(atOnce, 0.5):F1} ms, p99 {Percentile(atOnce, 0.99):F1} ms, max {atOnce[^1]:F1} ms{(queued > 0 ? $"; {queued} queued, reset at their queue timeout" : "")}"),
                ReliabilityRow.FilterCommand(nameof(ConnectionFloodTests))).Record(output);
        }
        finally
        {
            foreach (var client in admitted)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>Opens <see cref="Flood"/> connections, <see cref="FloodConcurrency"/> at a time, and waits on each for the pod's first byte or the proxy's reset; the time runs from the connect call to the reset.</summary>
    private static async Task<FloodOutcome[]> FloodAsync(IPEndPoint service)
    {
        using var gate = new SemaphoreSlim(FloodConcurrency);
        return await Task.WhenAll(Enumerable.Range(0, Flood).Select(async _ =>
        {
            await gate.WaitAsync();
            var started = Stopwatch.StartNew();
            try
            {
                // The proxy may reset a refused connection before the connect call even returns.
                await using var client = await TestClient.ConnectAsync(service);
                var read = await client.Socket.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(Bound);
                return new FloodOutcome(read == 0, started.Elapsed);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                return new FloodOutcome(true, started.Elapsed);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record FloodOutcome(bool Refused, TimeSpan Elapsed);
}
