using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Tests.Reliability;

/// <summary>Churns its pods through the catalog's API, one <see cref="CatalogUpdate"/> per change (the way a discovery source does).</summary>
internal sealed class ApiPodChurner(ServiceCatalog catalog, ProxyServer proxy, string prefix, int minSelected, int maxPods)
    : CatalogPodChurner(proxy, prefix, minSelected, maxPods)
{
    private readonly HashSet<string> _published = new(StringComparer.Ordinal);

    protected override long Publish()
    {
        var update = new CatalogUpdate();
        foreach (var gone in _published.Where(name => Pods.All(p => p.Name != name)).ToList())
        {
            update.RemovePod(new NamespacedName(NamespacedName.DefaultNamespace, gone));
            _published.Remove(gone);
        }

        foreach (var pod in Pods)
        {
            update.SetPod(pod.ToPod());
            _published.Add(pod.Name);
        }

        return catalog.Apply(update).Version;
    }
}
