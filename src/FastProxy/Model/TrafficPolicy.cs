namespace FastProxy.Model;

/// <summary>Which endpoints a kind of traffic may reach (Kubernetes <c>internalTrafficPolicy</c> / <c>externalTrafficPolicy</c>).</summary>
public enum TrafficPolicy
{
    /// <summary>Every usable endpoint of the service, wherever it runs. The default.</summary>
    Cluster = 0,

    /// <summary>
    /// Only endpoints on this node (<see cref="Catalog.ServiceCatalogOptions.NodeName"/>); with none, the
    /// traffic is refused rather than sent elsewhere, as kube-proxy does.
    /// </summary>
    Local = 1,
}
