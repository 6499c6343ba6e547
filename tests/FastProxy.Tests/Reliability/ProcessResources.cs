using System.Diagnostics;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// What this process holds, for before/after leak checks: open file descriptors (sockets included,
/// from <c>/proc/self/fd</c>), the managed heap after a full blocking collection, and thread count.
/// </summary>
internal sealed record ProcessResources(int FileDescriptors, long ManagedHeapBytes, int Threads)
{
    public static ProcessResources Measure()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        using var process = Process.GetCurrentProcess();
        return new ProcessResources(Directory.GetFiles("/proc/self/fd").Length, GC.GetTotalMemory(forceFullCollection: true), process.Threads.Count);
    }

    /// <summary>
    /// Measures until descriptors fall back to at most <paramref name="baseline"/>'s count plus
    /// <paramref name="fdSlack"/>, or <paramref name="settle"/> passes: sockets close asynchronously after
    /// the last connection ends, so an immediate count would blame slow teardown as a leak.
    /// </summary>
    public static async Task<ProcessResources> SettleAsync(ProcessResources baseline, int fdSlack, TimeSpan settle)
    {
        var deadline = Stopwatch.StartNew();
        var now = Measure();
        while (now.FileDescriptors > baseline.FileDescriptors + fdSlack && deadline.Elapsed < settle)
        {
            await Task.Delay(100);
            now = Measure();
        }

        return now;
    }
}
