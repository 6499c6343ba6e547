namespace FastProxy.Model;

/// <summary>Kubernetes <c>spec.trafficDistribution</c>: a preference for nearby endpoints that falls back to all of them.</summary>
public enum TrafficDistribution
{
    /// <summary>No preference: balance over every usable endpoint. The default.</summary>
    Default = 0,

    /// <summary>
    /// Prefer endpoints in this node's zone (<see cref="Catalog.ServiceCatalogOptions.Zone"/>) when every
    /// ready endpoint has a zone and at least one shares ours; otherwise use all. Kubernetes' older
    /// <c>PreferClose</c> means the same.
    /// </summary>
    PreferSameZone = 1,

    /// <summary>Prefer endpoints on this node; without one, behave as <see cref="PreferSameZone"/>.</summary>
    PreferSameNode = 2,
}
