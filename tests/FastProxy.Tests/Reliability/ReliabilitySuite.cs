namespace FastProxy.Tests.Reliability;

/// <summary>
/// The reliability suite (docs/reliability.md). Its tests count the process's file descriptors and
/// managed heap before and after, so they run alone, after the parallel tests, never beside them.
/// Every test in it carries <c>[Trait("Category", "Reliability")]</c> so the soak command
/// (<c>bench/soak/run.sh</c>) can run just this suite for longer.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilitySuite
{
    /// <summary>The collection name every reliability test class names in <c>[Collection]</c>.</summary>
    public const string Name = "Reliability";
}
