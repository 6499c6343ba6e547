using FastProxy.Catalog;
using FastProxy.Kubernetes;
using FastProxy.Kubernetes.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="KubernetesCatalogSource"/> that feeds the host's <see cref="ServiceCatalog"/> (from <c>AddFastProxy()</c>).</summary>
public static class KubernetesSourceServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Kubernetes API as the catalog's source: the source (a singleton, with its own client built
    /// from <see cref="KubernetesSourceOptions.KubeconfigPath"/> or the in-cluster service account) starts
    /// with the host and stops with it. Start-up does not wait for the first list: inject
    /// <see cref="KubernetesCatalogSource"/> and await <see cref="KubernetesCatalogSource.WaitForSyncAsync"/> where that matters.
    /// </summary>
    /// <param name="services">The host's services; must also have <c>AddFastProxy()</c> (the catalog).</param>
    /// <param name="configure">Sets the options; defaults apply when null.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddFastProxyKubernetes(this IServiceCollection services, Action<KubernetesSourceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<KubernetesSourceOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(static provider => KubernetesCatalogSource.Create(
            provider.GetRequiredService<ServiceCatalog>(),
            provider.GetRequiredService<IOptions<KubernetesSourceOptions>>().Value,
            provider.GetService<ILoggerFactory>()?.CreateLogger("FastProxy.Kubernetes")));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, KubernetesSourceHostedService>());
        return services;
    }
}
