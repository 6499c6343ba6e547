using FastProxy.Catalog;
using FastProxy.Etcd;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

// In Microsoft.Extensions.DependencyInjection, like AddFastProxy, so no extra using is needed.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers an <see cref="EtcdCatalogSource"/> that feeds the <see cref="ServiceCatalog"/> of <c>AddFastProxy</c>.</summary>
public static class EtcdServiceCollectionExtensions
{
    /// <summary>
    /// Adds a hosted <see cref="EtcdCatalogSource"/> over the container's <see cref="ServiceCatalog"/> (call
    /// <c>AddFastProxy</c> too): the services, pods and endpoint slices under the prefix are served, and
    /// follow etcd's changes. Calling it again adds no second source (two would fight over one catalog):
    /// its <paramref name="configure"/> applies to the same options, after the first.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets where etcd is and which prefix to read.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddFastProxyEtcd(this IServiceCollection services, Action<EtcdCatalogOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<EtcdCatalogOptions>().Configure(configure);
        services.TryAddSingleton(static provider => new EtcdCatalogSource(
            provider.GetRequiredService<ServiceCatalog>(), provider.GetRequiredService<IOptions<EtcdCatalogOptions>>().Value, provider.GetService<ILoggerFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, EtcdCatalogSource>(static provider => provider.GetRequiredService<EtcdCatalogSource>()));
        return services;
    }
}
