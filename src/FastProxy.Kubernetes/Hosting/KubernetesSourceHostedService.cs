using Microsoft.Extensions.Hosting;

namespace FastProxy.Kubernetes.Hosting;

/// <summary>Runs the registered <see cref="KubernetesCatalogSource"/> with the host.</summary>
internal sealed class KubernetesSourceHostedService(KubernetesCatalogSource source) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        source.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => source.StopAsync().WaitAsync(cancellationToken);
}
