using Microsoft.Extensions.Hosting;

namespace FastProxy.Hosting;

/// <summary>
/// Runs the registered <see cref="ProxyServer"/> with the host: starts it with the host and stops it
/// gracefully with the host, letting open connections finish until <see cref="ProxyServerOptions.ShutdownTimeout"/>
/// or until the host's shutdown timeout cancels <see cref="StopAsync"/>'s token, whichever comes first.
/// </summary>
internal sealed class FastProxyHostedService(ProxyServer server) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => server.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);
}
