using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace FastProxy.Hosting;

/// <summary>
/// Binds <see cref="FastProxyOptions"/> from the <c>"FastProxy"</c> section of the host's
/// <see cref="IConfiguration"/>, when the container has one; otherwise does nothing.
/// </summary>
internal sealed class HostConfigurationBinder(IServiceProvider services) : IConfigureOptions<FastProxyOptions>
{
    public void Configure(FastProxyOptions options)
    {
        if (services.GetService(typeof(IConfiguration)) is IConfiguration configuration)
        {
            configuration.GetSection(FastProxyOptions.SectionName).Bind(options);
        }
    }
}
