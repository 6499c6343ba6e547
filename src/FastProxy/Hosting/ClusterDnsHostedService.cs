using FastProxy.Dns;
using Microsoft.Extensions.Hosting;

namespace FastProxy.Hosting;

/// <summary>Runs the registered <see cref="ClusterDnsServer"/> with the host.</summary>
internal sealed class ClusterDnsHostedService(ClusterDnsServer server) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => server.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);
}
