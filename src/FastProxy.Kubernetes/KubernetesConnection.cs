using k8s;

namespace FastProxy.Kubernetes;

/// <summary>Where the credentials come from, the way kubectl and client-go choose.</summary>
internal static class KubernetesConnection
{
    /// <summary>
    /// Builds the client configuration: the kubeconfig file when <paramref name="kubeconfigPath"/> is given;
    /// else the pod's service account (token and CA under <c>/var/run/secrets/kubernetes.io/serviceaccount</c>,
    /// server from <c>KUBERNETES_SERVICE_HOST</c>) when running in a cluster and no context is asked for;
    /// else <c>$KUBECONFIG</c> or <c>~/.kube/config</c>.
    /// </summary>
    /// <param name="kubeconfigPath">A kubeconfig file, or null.</param>
    /// <param name="context">A context of the kubeconfig, or null for its current context.</param>
    /// <returns>The configuration for <c>new k8s.Kubernetes(...)</c>.</returns>
    /// <exception cref="k8s.Exceptions.KubeConfigException">The kubeconfig is missing or invalid, or has no such context; or the in-cluster files are missing.</exception>
    public static KubernetesClientConfiguration CreateConfiguration(string? kubeconfigPath = null, string? context = null)
    {
        if (kubeconfigPath is not null)
        {
            if (!File.Exists(kubeconfigPath))
            {
                throw new k8s.Exceptions.KubeConfigException($"kubeconfig: no such file: {kubeconfigPath}");
            }

            return KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfigPath, context);
        }

        return context is null && KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(currentContext: context);
    }
}
