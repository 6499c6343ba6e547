namespace FastProxy.Kubernetes;

/// <summary>Where a service's endpoints come from when the catalog is fed from the Kubernetes API.</summary>
public enum KubernetesEndpointsMode
{
    /// <summary>
    /// From EndpointSlices only, as kube-proxy does: the cluster's EndpointSlice controller has already
    /// turned pods into endpoints (readiness, named ports, terminating), so Pods are not watched. The default.
    /// </summary>
    EndpointSlices = 0,

    /// <summary>
    /// From Pods, through FastProxy's own selector controller (named target ports resolved per pod, Ready
    /// condition, deletion timestamp). EndpointSlices written by the EndpointSlice controller are ignored,
    /// since they say the same thing a second time; slices from anyone else (services without a selector)
    /// still count.
    /// </summary>
    Pods = 1,
}
