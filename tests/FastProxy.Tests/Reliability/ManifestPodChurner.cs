using System.Net;
using FastProxy.Catalog;
using FastProxy.Manifests;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Churns its pods by reloading manifests, as <c>fastproxy run</c> does on a file change: the whole set
/// (the Service and this churner's Pods) is written as YAML, read by <see cref="ManifestReader"/>, diffed
/// against the previous set and applied. Every publish is one reload, changed or not.
/// </summary>
internal sealed class ManifestPodChurner(ServiceCatalog catalog, ProxyServer proxy, IPEndPoint service, string prefix, int minSelected, int maxPods)
    : CatalogPodChurner(proxy, prefix, minSelected, maxPods)
{
    private ManifestSet? _previous;

    public int Reloads { get; private set; }

    protected override long Publish()
    {
        var set = ManifestReader.Parse(Render(service), "churn.yaml");
        if (set.HasErrors)
        {
            throw new InvalidOperationException("The churn manifests do not read: " + string.Join("; ", set.Diagnostics));
        }

        var update = set.ToCatalogUpdate(_previous);
        _previous = set;
        Reloads++;
        return update.IsEmpty ? catalog.Current.Version : catalog.Apply(update).Version;
    }
}
