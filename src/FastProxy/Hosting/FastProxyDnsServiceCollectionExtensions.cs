using FastProxy.Catalog;
using FastProxy.Dns;
using FastProxy.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers FastProxy's embedded DNS server with a generic host.</summary>
public static class FastProxyDnsServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="ClusterDnsServer"/> over the registered <see cref="ServiceCatalog"/>
    /// (call <c>AddFastProxy</c> too) and a hosted service that starts it with the host and stops it with
    /// the host. The container's <see cref="ILoggerFactory"/> and <see cref="TimeProvider"/> are used when
    /// <paramref name="configure"/> sets none. Calling this method more than once registers the server once;
    /// every <paramref name="configure"/> runs.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the options (address, cluster domain, upstream...); null keeps the defaults (127.0.0.1:5353, cluster.local).</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddFastProxyDns(this IServiceCollection services, Action<ClusterDnsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ClusterDnsOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(static provider =>
        {
            var options = provider.GetRequiredService<IOptions<ClusterDnsOptions>>().Value;
            options.LoggerFactory ??= provider.GetService<ILoggerFactory>();
            if (ReferenceEquals(options.TimeProvider, TimeProvider.System) && provider.GetService<TimeProvider>() is { } time)
            {
                options.TimeProvider = time;
            }

            return new ClusterDnsServer(provider.GetRequiredService<ServiceCatalog>(), options);
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ClusterDnsHostedService>());
        return services;
    }
}
