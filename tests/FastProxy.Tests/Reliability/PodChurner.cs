using System.Collections.Concurrent;
using System.Net;

namespace FastProxy.Tests.Reliability;

/// <summary>What a churner did, for the assertions and the table row.</summary>
internal sealed class ChurnCounts
{
    public int Added;
    public int Removed;
    public int RemovedBackendFirst;
    public int RelabelledOut;
    public int RelabelledIn;
    public int Publishes;
    public int ConnectionsCut;

    public override string ToString() =>
        $"{Added} added, {Removed} removed, {RemovedBackendFirst} crashed then removed, {RelabelledOut}/{RelabelledIn} relabelled out/in";
}

/// <summary>
/// Changes one set of pods of the churned service many times a second: adds pods (backend first, then
/// the pod), removes them (the catalog stops routing, then the backend stops as a terminating pod would;
/// or, when <see cref="BackendDiesFirst"/> allows, the harsher order: the backend's listener is gone
/// before the catalog hears of it, so the proxy's retry on another pod must save the client), and
/// relabels them out of and back into the selector. Never leaves fewer than <c>minSelected</c>
/// live pods in the selector. How the set is published, and how the churner knows the proxy serves it,
/// is the subclass's: catalog updates, manifests read in process, or manifest files a sidecar watches.
/// </summary>
internal abstract class PodChurner(string prefix, int minSelected, int maxPods) : IAsyncDisposable
{
    /// <summary>How long after a pod's backend dies the catalog hears of it, in the harsh removal order.</summary>
    private static readonly TimeSpan CrashNoticeDelay = TimeSpan.FromMilliseconds(50);
    private readonly ConcurrentBag<Task> _stopping = [];
    private readonly List<ChurnPod> _started = [];
    private readonly Random _random = new(prefix.GetHashCode(StringComparison.Ordinal));

    public ChurnCounts Counts { get; } = new();

    /// <summary>When (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>) each crashed pod's listener closed.</summary>
    public ConcurrentQueue<long> Crashes { get; } = new();

    /// <summary>Connections the backends of every incarnation accepted: one per client connection the proxy forwarded, no more.</summary>
    public long BackendConnections => _started.Sum(p => (long)p.Backend.Accepted);

    /// <summary>The live pods, in the catalog or being added; only the churner's loop touches it.</summary>
    protected List<ChurnPod> Pods { get; } = [];

    /// <summary>The churned service's name, when a churner's manifests declare it.</summary>
    public const string ServiceName = "churn";

    /// <summary>Whether the harsh removal order is allowed (another writer keeps a live pod in the selector meanwhile).</summary>
    public bool BackendDiesFirst { get; init; }

    /// <summary>Starts <paramref name="count"/> pods and publishes them.</summary>
    public async Task StartAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Add();
        }

        await PublishAndWaitAsync([]);
    }

    /// <summary>Makes one change every <paramref name="interval"/> until <paramref name="stop"/> is cancelled.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                await ChangeOnceAsync();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Removes every pod (routing first) and waits until every backend stopped.</summary>
    public async Task StopAllAsync()
    {
        var all = Pods.ToList();
        Pods.Clear();
        await PublishAndWaitAsync(all);
        foreach (var pod in all)
        {
            _stopping.Add(StopAndCountAsync(pod));
        }

        await Task.WhenAll(_stopping).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Stops whatever backend is still running (after a failed run; <see cref="StopAllAsync"/> leaves none).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var pod in Pods)
        {
            await pod.Backend.DisposeAsync();
        }

        Pods.Clear();
        await Task.WhenAll(_stopping).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Publishes the current <see cref="Pods"/>; returns what <see cref="WhenAppliedAsync"/> waits for (a catalog version).</summary>
    protected abstract long Publish();

    /// <summary>Completes when the proxy serves the publish that returned <paramref name="published"/>, routing to none of <paramref name="removed"/>.</summary>
    protected abstract Task WhenAppliedAsync(long published, IReadOnlyList<ChurnPod> removed);

    /// <summary>The YAML of the service <paramref name="service"/> selecting this churner's pods.</summary>
    protected string Render(IPEndPoint service) =>
        ServiceYaml.Render(ServiceName, service, ChurnPod.Port, ChurnPod.App, Pods.Select(p => (p.Name, p.AppLabel, p.Address)));

    private async Task PublishAndWaitAsync(IReadOnlyList<ChurnPod> removed)
    {
        var version = Publish();
        Counts.Publishes++;
        await WhenAppliedAsync(version, removed);
    }

    private async Task ChangeOnceAsync()
    {
        var selected = Pods.Where(p => p.Selected).ToList();
        var parked = Pods.Where(p => !p.Selected).ToList();
        switch (_random.Next(6))
        {
            case 0 when Pods.Count < maxPods:
                Add();
                break;
            case 1 when parked.Count > 0:
                await RemoveAsync(parked[_random.Next(parked.Count)], backendFirst: false);
                return;
            case 2 when selected.Count > minSelected:
                await RemoveAsync(selected[_random.Next(selected.Count)], backendFirst: BackendDiesFirst && _random.Next(2) == 0);
                return;
            case 3 when selected.Count > minSelected:
                selected[_random.Next(selected.Count)].Selected = false;
                Counts.RelabelledOut++;
                break;
            case 4 when parked.Count > 0:
                parked[_random.Next(parked.Count)].Selected = true;
                Counts.RelabelledIn++;
                break;
            default:
                // Nothing changed: publish anyway (a manifest reload that finds no change still reads and diffs).
                break;
        }

        Counts.Publishes++;
        Publish();
    }

    private void Add()
    {
        var pod = ChurnPod.Start(prefix);
        Pods.Add(pod);
        _started.Add(pod);
        Counts.Added++;
    }

    private async Task RemoveAsync(ChurnPod pod, bool backendFirst)
    {
        Pods.Remove(pod);
        if (backendFirst)
        {
            // The pod crashed: new connections to it are refused, and the catalog hears of it a little later
            // (the proxy's connects meanwhile fail and go to another pod); its open connections finish. It
            // crashes when its accept queue is empty: connections already queued in a crashing pod's kernel
            // are lost with it, through any L4 proxy, like the ones it was serving.
            await pod.Backend.StopAcceptingAsync(TimeSpan.FromSeconds(2));
            Crashes.Enqueue(System.Diagnostics.Stopwatch.GetTimestamp());
            await Task.Delay(CrashNoticeDelay);
            Counts.RemovedBackendFirst++;
        }
        else
        {
            Counts.Removed++;
        }

        var version = Publish();
        Counts.Publishes++;
        _stopping.Add(StopAfterAsync(version, pod));
    }

    private async Task StopAfterAsync(long version, ChurnPod pod)
    {
        await WhenAppliedAsync(version, [pod]);
        await StopAndCountAsync(pod);
    }

    private async Task StopAndCountAsync(ChurnPod pod)
    {
        var cut = await pod.StopAsync();
        Interlocked.Add(ref Counts.ConnectionsCut, cut);
    }
}
