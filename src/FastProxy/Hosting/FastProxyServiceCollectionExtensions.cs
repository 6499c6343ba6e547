using System.Diagnostics.Metrics;
using FastProxy;
using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

// In Microsoft.Extensions.DependencyInjection, as Microsoft's own Add* methods are, so that
// `builder.Services.AddFastProxy()` needs no extra using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers FastProxy with a generic host (or any <see cref="IServiceCollection"/>).</summary>
public static class FastProxyServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="ServiceCatalog"/>, a singleton <see cref="ProxyServer"/> over the
    /// socket transport (with the container's <see cref="ILoggerFactory"/> and <see cref="IMeterFactory"/>
    /// when it has them) and a hosted service that starts the proxy with the host and stops it gracefully.
    /// <see cref="FastProxyOptions"/> are bound from the <c>"FastProxy"</c> section of the host's
    /// configuration when there is one; the services and pods declared there are applied to the catalog
    /// as one update when it is created, at the host's start.
    /// </summary>
    /// <remarks>
    /// Balancing strategies registered as <see cref="IBalancingStrategy"/> services are available to
    /// services by name; a registered <see cref="TimeProvider"/> is the catalog's clock. Invalid options or
    /// declarations fail the host's start with one <see cref="CatalogValidationException"/> that lists
    /// every error. Calling this method more than once registers everything once.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddFastProxy(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<FastProxyOptions>, HostConfigurationBinder>());
        return AddCore(services);
    }

    /// <summary>
    /// Like <see cref="AddFastProxy(IServiceCollection)"/>, then changes the options in code:
    /// <paramref name="configure"/> runs after the <c>"FastProxy"</c> configuration section is bound, so
    /// what it sets wins.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the options.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddFastProxy(this IServiceCollection services, Action<FastProxyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddFastProxy();
        services.Configure(configure);
        return services;
    }

    /// <summary>
    /// Like <see cref="AddFastProxy(IServiceCollection)"/>, but binds the options from
    /// <paramref name="configuration"/> (for example <c>builder.Configuration.GetSection("Proxy")</c>)
    /// instead of the host's <c>"FastProxy"</c> section.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration (section) holding the options' keys.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddFastProxy(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<FastProxyOptions>(options => configuration.Bind(options));
        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddOptions();
        services.TryAddSingleton(static provider => FastProxyFactory.CreateCatalog(
            provider.GetRequiredService<IOptions<FastProxyOptions>>().Value,
            provider.GetServices<IBalancingStrategy>(),
            provider.GetService<TimeProvider>()));
        services.TryAddSingleton(static provider => FastProxyFactory.CreateServer(
            provider.GetRequiredService<ServiceCatalog>(),
            provider.GetRequiredService<IOptions<FastProxyOptions>>().Value,
            provider.GetService<ILoggerFactory>(),
            provider.GetService<IMeterFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, FastProxyHostedService>());
        return services;
    }
}
