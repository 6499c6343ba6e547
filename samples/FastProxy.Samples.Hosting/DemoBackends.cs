using System.Net;
using FastProxy.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FastProxy.Samples;

/// <summary>
/// Plays the pods: a greeting server (<see cref="DemoPods.GreetingServer"/>) on every pod address declared
/// in the "FastProxy" section, at every target port of the declared services. A real host would not
/// need this; its pods are other processes.
/// </summary>
internal sealed class DemoBackends(IOptions<FastProxyOptions> options) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task[] _servers = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var ports = options.Value.Services.SelectMany(s => s.Ports).Select(p => p.TargetPort == 0 ? p.Port : p.TargetPort).Distinct();
        // GreetingServer binds before its first await, so every pod listens when this returns.
        _servers = [.. from pod in options.Value.Pods
                       from port in ports
                       select DemoPods.GreetingServer(pod.Name, new IPEndPoint(IPAddress.Parse(pod.Address!), port), _stop.Token)];
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_servers).WaitAsync(cancellationToken);
    }

    public void Dispose() => _stop.Dispose();
}
