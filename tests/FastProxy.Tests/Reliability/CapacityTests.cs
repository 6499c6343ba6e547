using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using FastProxy.Sidecar.Tests;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Capacity (docs/reliability.md): 10,000 concurrent connections held through the proxy, every one
/// exchanging bytes when opened and again after the hold. A process can hold at most the hard
/// open-file limit (20,000 here, and not raisable without CAP_SYS_RESOURCE) and a proxied connection
/// costs the proxy two descriptors, so the load is split the way nginx and HAProxy split theirs: the
/// clients in this process, the echo pods in a process of their own, and the proxy as two real sidecar
/// workers (<c>fastproxy run --reuse-port</c>) that share the virtual IP's listener.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class CapacityTests(ITestOutputHelper output)
{
    private const int Connections = 10_000;
    private const int Workers = 2;
    private const int Pods = 4;
    private const int PodPort = 18095;
    private const string PodPrefix = "127.185.0.";
    private const int Concurrency = 200;
    private static readonly IPEndPoint Service = new(IPAddress.Parse("127.99.2.1"), 8080);
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PhaseBound = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Ten_thousand_connections_are_held_through_two_sidecar_workers_and_all_exchange_bytes()
    {
        var limit = FileDescriptorLimit.RaiseSoftToHard();   // inherited by the processes started below
        Assert.True(limit > Connections + 1000, $"the open-file limit {limit} cannot hold {Connections} client sockets");
        var hold = SoakSettings.DurationOr(TimeSpan.FromSeconds(5));
        var folder = Directory.CreateTempSubdirectory("fastproxy-capacity-");
        var clients = new ConcurrentBag<TestClient>();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "capacity.yaml"), Manifest());
            await using var pods = SidecarProcess.StartDll("FastProxy.Tests.dll", null, EchoBackendsProgram.Command, PodPrefix, Pods.ToString(CultureInfo.InvariantCulture), PodPort.ToString(CultureInfo.InvariantCulture), "900");
            await pods.WaitForLineAsync(EchoBackendsProgram.ReadyLine, Startup);
            var workers = new List<SidecarProcess>();
            try
            {
                for (var i = 0; i < Workers; i++)
                {
                    var worker = SidecarProcess.Start("run", "-f", folder.FullName, "--reuse-port", "--no-watch", "--admin", "off", "--dns", "off", "--drain-timeout", "1s");
                    workers.Add(worker);
                    await worker.WaitForLineAsync("Press Ctrl+C to stop.", Startup);
                }

                foreach (var process in workers.Append(pods))
                {
                    Assert.True(FileDescriptorLimit.SoftLimitOf(process.Id) >= limit, $"process {process.Id} runs with a lower open-file limit than {limit}");
                }

                var idle = workers.Select(w => ProcessFootprint.Of(w.Id)).ToList();
                var opened = await ForEachAsync(Enumerable.Range(0, Connections), async i =>
                {
                    var client = await TestClient.ConnectAsync(Service, IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"127.99.3.{(i % 8) + 1}")));
                    clients.Add(client);
                    if (!(await client.ReadLineAsync()).StartsWith("pod-", StringComparison.Ordinal))
                    {
                        throw new InvalidDataException("no pod greeting");
                    }

                    await EchoLoad.EchoAsync(client, new byte[64]);
                });
                Assert.True(opened.Failed == 0, $"{opened.Failed} of {Connections} connections failed to open and echo: {opened.FirstError}");

                var holding = workers.Select(w => ProcessFootprint.Of(w.Id)).ToList();
                await Task.Delay(hold);
                var echoed = await ForEachAsync(clients, client => EchoLoad.EchoAsync(client, new byte[64]));
                Assert.True(echoed.Failed == 0, $"{echoed.Failed} of {Connections} held connections no longer echo after {hold}: {echoed.FirstError}");

                var perWorker = holding.Zip(idle, (h, i) => (Sockets: h.Sockets - i.Sockets, Pipes: h.Pipes - i.Pipes, Rss: h.ResidentBytes - i.ResidentBytes)).ToList();
                output.WriteLine($"idle: {string.Join(", ", idle)}; holding: {string.Join(", ", holding)}");

                // Two sockets per proxied connection (client side and pod side), spread over the workers by the kernel.
                Assert.InRange(perWorker.Sum(w => w.Sockets), (2 * Connections) - 20, (2 * Connections) + 20);
                Assert.All(perWorker, w => Assert.True(w.Sockets > 0, "a worker got no connection: SO_REUSEPORT did not spread them"));
                // Idle held connections move no bulk data, so the splice path opened no pipe for them.
                Assert.All(perWorker, w => Assert.True(w.Pipes <= 2, $"{w.Pipes} pipes opened by held idle connections"));

                foreach (var client in clients)
                {
                    await client.DisposeAsync();
                }

                var settled = await Settle.UntilAsync(
                    () => workers.Select(w => ProcessFootprint.Of(w.Id).Sockets).ToList(),
                    sockets => sockets.Zip(idle).All(p => p.First <= p.Second.Sockets),
                    TimeSpan.FromSeconds(30));
                Assert.True(settled.Zip(idle).All(p => p.First <= p.Second.Sockets), $"worker sockets after close: {string.Join(", ", settled)}; idle {string.Join(", ", idle.Select(i => i.Sockets))}");

                var rssPerConnection = perWorker.Sum(w => w.Rss) / (double)Connections / 1024;
                new ReliabilityRow(
                    "Capacity: 10,000 held connections",
                    Invariant($"{Connections:N0} concurrent connections held {hold.TotalSeconds:F0} s through {Workers} sidecar workers sharing the VIP (--reuse-port; {string.Join(" / ", perWorker.Select(w => w.Sockets / 2))} connections each), {Pods} echo pods in a separate process"),
                    Invariant($"every connection: greeting + 64 B echo when opened and again after the hold; open-file limit {limit} per process"),
                    Invariant($"0 of {Connections:N0}; proxy RSS +{rssPerConnection:F1} KiB per held connection, 2 sockets and 0 pipes per connection, sockets back to idle after close"),
                    ReliabilityRow.FilterCommand(nameof(CapacityTests))).Record(output);
            }
            finally
            {
                foreach (var worker in workers)
                {
                    await worker.DisposeAsync();
                }
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            folder.Delete(recursive: true);
        }
    }

    /// <summary>Runs <paramref name="action"/> on every item, <see cref="Concurrency"/> at a time, bounded in time; counts failures.</summary>
    private static async Task<(int Failed, string? FirstError)> ForEachAsync<T>(IEnumerable<T> items, Func<T, Task> action)
    {
        var failed = 0;
        string? first = null;
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (item, _) =>
        {
            try
            {
                await action(item);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or InvalidDataException)
            {
                Interlocked.Increment(ref failed);
                Interlocked.CompareExchange(ref first, ex.Message, null);
            }
        }).WaitAsync(PhaseBound);
        return (failed, first);
    }

    private static string Manifest() => ServiceYaml.Render(
        "capacity", Service, PodPort, "capacity", Enumerable.Range(1, Pods).Select(i => (Invariant($"pod-{i}"), "capacity", IPAddress.Parse(Invariant($"{PodPrefix}{i}")))));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
