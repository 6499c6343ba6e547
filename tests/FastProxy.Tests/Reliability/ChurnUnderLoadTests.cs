using System.Diagnostics;
using System.Globalization;
using System.Net;
using FastProxy.Catalog;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Churn under load (docs/reliability.md): a bounded load generator keeps short echo connections flowing
/// through one service while two writers change its pods many times a second, one through manifest
/// reloads, one through the catalog API (including pods whose backend dies before the catalog hears of it).
/// A live pod stays in the selector throughout, so no client connection may fail; afterwards nothing the
/// run opened may still be open.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class ChurnUnderLoadTests(ITestOutputHelper output)
{
    private const int ServicePort = 8080;
    private const int Loops = 8;
    private const long MaxConnections = 50_000_000;
    private static readonly TimeSpan ReloadInterval = TimeSpan.FromMilliseconds(40);
    private static readonly TimeSpan ApiChangeInterval = TimeSpan.FromMilliseconds(25);

    // A heap bound with room for what a run legitimately leaves behind (JIT'd code's data, the thread pool's
    // queues, the socket engine's per-thread state) but far below one leaked object graph per connection:
    // the run makes tens of thousands, so 200 B each would already exceed it.
    private const long HeapSlackBytes = 4 * 1024 * 1024;
    private const int FdSlack = 8;
    // How long after a crash a client may take to see the reset of a connection the crash took: on two busy
    // cores a GC or thread-pool pause can delay that by hundreds of milliseconds, which must not fail the run.
    private static readonly TimeSpan CrashWindow = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Pods_added_removed_relabelled_and_reloaded_under_load_fail_no_client_and_leak_nothing()
    {
        // Warm up (JIT, pools, thread pool) with a short run of the same scenario, so the baseline is steady.
        await RunAsync(TimeSpan.FromSeconds(2), virtualIP: IPAddress.Parse("127.99.0.2"));
        var before = ProcessResources.Measure();

        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(20));
        var run = await RunAsync(duration, virtualIP: IPAddress.Parse("127.99.0.1"));

        // The one loss no L4 proxy can prevent: a connection already handed to a pod (complete in its kernel's
        // accept queue) when the pod crashed is reset with it. Only failures before any pod byte, within
        // CrashWindow after a crash, are counted as that; every other failure fails the test.
        var withCrash = run.Load.FailedBeforeGreeting.Count(f => run.Crashes.Any(c => f >= c && Stopwatch.GetElapsedTime(c, f) < CrashWindow));
        Assert.True(run.Load.Failed == withCrash, $"{run.Load.Failed - withCrash} of {run.Load.Succeeded + run.Load.Failed} client connections failed (besides {withCrash} queued in a crashing pod); first errors:\n{string.Join('\n', run.Load.Errors)}");
        Assert.True(run.Load.Succeeded > 0, "the load generator made no connection");
        Assert.Equal(run.Load.Succeeded, run.BackendConnections);   // each completed client connection reached exactly one pod once
        Assert.Equal(0, run.ActiveAfterLoad);
        Assert.Equal(0, run.Api.ConnectionsCut + run.Manifest.ConnectionsCut);
        Assert.True(run.Api.RemovedBackendFirst > 0 && run.Api.Removed > 0 && run.Manifest.Removed > 0, $"removals missing: api {run.Api}; manifests {run.Manifest}");
        Assert.True(run.FailedConnects > 0, "no connection was sent to a crashed pod: the backend-first order was not exercised");
        Assert.True(run.Api.RelabelledOut + run.Manifest.RelabelledOut > 0 && run.Api.RelabelledIn + run.Manifest.RelabelledIn > 0, "relabels missing");

        var after = await ProcessResources.SettleAsync(before, FdSlack, TimeSpan.FromSeconds(10));
        output.WriteLine($"before: {before}; after: {after}");
        Assert.True(after.FileDescriptors <= before.FileDescriptors + FdSlack, $"file descriptors: {before.FileDescriptors} before, {after.FileDescriptors} after");
        Assert.True(after.ManagedHeapBytes <= before.ManagedHeapBytes + HeapSlackBytes, $"managed heap: {before.ManagedHeapBytes} B before, {after.ManagedHeapBytes} B after");
        Assert.True(after.Threads <= before.Threads + 32, $"threads: {before.Threads} before, {after.Threads} after");

        var seconds = run.Elapsed.TotalSeconds;
        var rate = (double)run.Load.Succeeded / seconds;
        new ReliabilityRow(
            "Churn under load (in process)",
            Invariant($"{Loops} client loops, {run.Load.Succeeded:N0} connections in {seconds:F0} s ({rate:N0}/s), each greeting + 256 B echo + half-close, over {run.Load.Pods.Count} pod incarnations"),
            Invariant($"{run.Manifest.Publishes / seconds:F0} manifest reloads/s ({run.Manifest}); {run.Api.Publishes / seconds:F0} API updates/s ({run.Api}); {run.FailedConnects:N0} connects to crashed pods, each retried on another pod; at least one live pod selected throughout"),
            Invariant($"0 failed connections, except {withCrash} already queued in a crashing pod's kernel (reset with it); 0 open after; fds {before.FileDescriptors}->{after.FileDescriptors}, heap {Mib(before.ManagedHeapBytes)}->{Mib(after.ManagedHeapBytes)} MiB, threads {before.Threads}->{after.Threads}"),
            ReliabilityRow.FilterCommand(nameof(ChurnUnderLoadTests))).Record(output);
    }

    private async Task<ChurnRun> RunAsync(TimeSpan duration, IPAddress virtualIP)
    {
        var catalog = new ServiceCatalog();
        var proxy = new ProxyServerBuilder(catalog).UseSockets().Configure(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2)).Build();
        await proxy.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await using var manifest = new ManifestPodChurner(catalog, proxy, new IPEndPoint(virtualIP, ServicePort), "m", minSelected: 1, maxPods: 5);
        await using var api = new ApiPodChurner(catalog, proxy, "a", minSelected: 0, maxPods: 5) { BackendDiesFirst = true };
        var load = new EchoLoad();
        using var failedConnects = new FailedConnectCounter();
        try
        {
            await manifest.StartAsync(2);
            await api.StartAsync(2);
            var clock = Stopwatch.StartNew();
            using var stopChurn = new CancellationTokenSource();
            var churn = Task.WhenAll(manifest.RunAsync(ReloadInterval, stopChurn.Token), api.RunAsync(ApiChangeInterval, stopChurn.Token));
            var sources = Enumerable.Range(1, Loops).Select(i => IPAddress.Parse(Invariant($"127.99.1.{i}"))).ToList();
            try
            {
                await load.RunAsync(new IPEndPoint(virtualIP, ServicePort), sources, Loops, duration, MaxConnections, CancellationToken.None)
                    .WaitAsync(duration + TimeSpan.FromSeconds(60));
            }
            finally
            {
                await stopChurn.CancelAsync();
                await churn.WaitAsync(TimeSpan.FromSeconds(30));
            }

            var elapsed = clock.Elapsed;
            await api.StopAllAsync();
            await manifest.StopAllAsync();
            var active = await Settle.UntilAsync(() => proxy.ActiveConnections, n => n == 0, TimeSpan.FromSeconds(10));
            output.WriteLine($"{virtualIP}: {load.Succeeded} ok, {load.Failed} failed in {elapsed}; api {api.Counts}; manifests {manifest.Counts}, {manifest.Reloads} reloads; {failedConnects.Failed} failed connects retried; {load.Pods.Count} pods served");
            return new ChurnRun(load, manifest.Counts, api.Counts, active, elapsed, failedConnects.Failed, api.BackendConnections + manifest.BackendConnections, api.Crashes);
        }
        finally
        {
            await proxy.DisposeAsync();
        }
    }

    private static string Mib(long bytes) => (bytes / (1024.0 * 1024)).ToString("F1", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record ChurnRun(EchoLoad Load, ChurnCounts Manifest, ChurnCounts Api, int ActiveAfterLoad, TimeSpan Elapsed, long FailedConnects, long BackendConnections, IReadOnlyCollection<long> Crashes);
}
