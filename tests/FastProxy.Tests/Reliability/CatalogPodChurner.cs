namespace FastProxy.Tests.Reliability;

/// <summary>A churner that publishes into an in-process catalog: a publish is served once the proxy applied its catalog version.</summary>
internal abstract class CatalogPodChurner(ProxyServer proxy, string prefix, int minSelected, int maxPods) : PodChurner(prefix, minSelected, maxPods)
{
    protected sealed override Task WhenAppliedAsync(long published, IReadOnlyList<ChurnPod> removed)
        => proxy.WhenAppliedAsync(published).WaitAsync(TimeSpan.FromSeconds(10));
}
