namespace FastProxy.Balancing.Tests;

/// <summary>Measures what a picker allocates on the calling thread.</summary>
internal static class PickerAllocations
{
    /// <summary>
    /// The fewest bytes allocated by <paramref name="picks"/> picks (attempts 0 to <paramref name="lastAttempt"/> in turn) over
    /// three runs, after one warm-up pick of each attempt. The minimum, because tiered compilation
    /// (OSR of the loop, tier-up) now and then allocates a few bytes on the thread during one run;
    /// a picker that allocates does so in every run.
    /// </summary>
    public static long Measure(IEndpointPicker picker, int lastAttempt = 1, int picks = 10_000)
    {
        picker.Pick(new PickContext(0, 0, 0));
        picker.Pick(new PickContext(0, 0, lastAttempt));
        var fewest = long.MaxValue;
        for (var run = 0; run < 3; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < picks; i++)
            {
                picker.Pick(new PickContext((ulong)i, (ulong)i, i % (lastAttempt + 1)));
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return fewest;
    }
}
