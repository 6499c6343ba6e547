namespace FastProxy.Manifests;

/// <summary>The Kubernetes kinds FastProxy reads.</summary>
public enum ManifestObjectKind
{
    /// <summary>A v1 <c>Service</c>.</summary>
    Service = 0,

    /// <summary>A v1 <c>Pod</c>.</summary>
    Pod = 1,

    /// <summary>A discovery.k8s.io/v1 <c>EndpointSlice</c>.</summary>
    EndpointSlice = 2,

    /// <summary>A v1 <c>Endpoints</c>.</summary>
    Endpoints = 3,
}
