namespace FastProxy.Kubernetes;

/// <summary>Settings of a <see cref="KubernetesCatalogSource"/>.</summary>
public sealed class KubernetesSourceOptions
{
    /// <summary>Where endpoints come from; <see cref="KubernetesEndpointsMode.EndpointSlices"/> by default, as kube-proxy.</summary>
    public KubernetesEndpointsMode Mode { get; set; } = KubernetesEndpointsMode.EndpointSlices;

    /// <summary>The namespaces to watch; empty (the default) watches all of them with one cluster-wide watch per resource.</summary>
    public IList<string> Namespaces { get; } = [];

    /// <summary>
    /// A Kubernetes label selector (<c>app=web,tier!=batch</c>) the API server applies to Services, the way
    /// kube-proxy selects services with <c>service.kubernetes.io/service-proxy-name</c>; null watches every service.
    /// Endpoints of services left out are ignored by the catalog.
    /// </summary>
    public string? ServiceLabelSelector { get; set; }

    /// <summary>The kubeconfig file for <see cref="KubernetesCatalogSource.Create"/>; null uses the in-cluster service account when running in a pod, else <c>$KUBECONFIG</c> or <c>~/.kube/config</c>.</summary>
    public string? KubeconfigPath { get; set; }

    /// <summary>The kubeconfig context for <see cref="KubernetesCatalogSource.Create"/>; null uses the file's current context.</summary>
    public string? Context { get; set; }

    /// <summary>First wait before retrying after the API server failed or could not be reached (1 s); doubled per failure up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between retries (30 s).</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the API server keeps one watch open before it ends it and the source resumes from the last
    /// resourceVersion (5 minutes; client-go picks 5-10). Bounds how long a silently dead connection goes unnoticed.
    /// </summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    internal void Validate()
    {
        if (InitialRetryDelay <= TimeSpan.Zero || MaxRetryDelay < InitialRetryDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialRetryDelay), $"{nameof(InitialRetryDelay)} must be positive and at most {nameof(MaxRetryDelay)}; got {InitialRetryDelay} and {MaxRetryDelay}.");
        }

        if (WatchTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(WatchTimeout), $"{nameof(WatchTimeout)} must be at least 1 second; got {WatchTimeout}.");
        }

        foreach (var ns in Namespaces)
        {
            if (string.IsNullOrWhiteSpace(ns))
            {
                throw new ArgumentException("Namespaces must not hold an empty name.", nameof(Namespaces));
            }
        }
    }
}
