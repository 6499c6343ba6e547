using System.Net;
using FastProxy.Catalog;
using FastProxy.Kubernetes;
using FastProxy.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static FastProxy.Tests.Kubernetes.KubernetesTestEnvironment;

namespace FastProxy.Tests.Kubernetes;

/// <summary><c>AddFastProxyKubernetes</c>: the source starts and stops with a generic host and feeds the host's catalog.</summary>
public sealed class KubernetesHostingTests
{
    [Fact]
    public async Task AddFastProxyKubernetes_FeedsTheHostsCatalog()
    {
        await using var server = FakeApiServer.Start(IPAddress.Parse($"127.78.1.{Environment.ProcessId % 250 + 1}"));
        server.SetList(ServicesPath, Fixture("services.json"));
        server.SetList(SlicesPath, Fixture("endpointslices.json"));
        var folder = Directory.CreateTempSubdirectory("fastproxy-k8s-host-").FullName;
        try
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Services.AddSingleton(new ServiceCatalog());
            builder.Services.AddFastProxyKubernetes(o => o.KubeconfigPath = server.WriteKubeconfig(folder));
            var host = builder.Build();
            await using var disposal = (IAsyncDisposable)host;   // the source is IAsyncDisposable only

            await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(20));
            var source = host.Services.GetRequiredService<KubernetesCatalogSource>();
            await source.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(20));

            Assert.True(host.Services.GetRequiredService<ServiceCatalog>().Current.TryGetService(new NamespacedName("shop", "web"), out _));
            await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.False(source.Status.Connected);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
