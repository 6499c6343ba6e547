using System.Net;
using FastProxy.Sidecar.Tests;
using static FastProxy.Tests.Kubernetes.KubernetesTestEnvironment;

namespace FastProxy.Tests.Kubernetes;

/// <summary><c>fastproxy run --kubernetes</c> as a user runs it: the real executable against the fake API server.</summary>
public sealed class KubernetesSidecarTests
{
    [Fact]
    public async Task RunKubernetes_ServesTheClustersServiceThroughItsVirtualIP()
    {
        var (podPrefix, vip) = TestAddresses.Next();
        await using var server = FakeApiServer.Start(IPAddress.Parse($"127.78.0.{Environment.ProcessId % 250 + 1}"));
        var backends = ServeWeb(server, podPrefix, vip, pods: 2);
        var folder = Directory.CreateTempSubdirectory("fastproxy-k8s-sidecar-").FullName;
        try
        {
            var kubeconfig = server.WriteKubeconfig(folder);

            await using var sidecar = SidecarProcess.Start("run", "--kubernetes", "--kubeconfig", kubeconfig, "--node-address", podPrefix + "200", "--admin", "off", "--dns", "off");
            await sidecar.WaitForLineAsync("watching the Kubernetes API: all namespaces, endpoints from EndpointSlices; in sync", TimeSpan.FromSeconds(60));

            Assert.Equal("web-1", await TestClient.WhoServesAsync(new IPEndPoint(vip, 18080)));
            Assert.Contains(server.Requests, r => r.Path == ServicesPath && r.IsWatch && r.Parameter("resourceVersion") == "1000");
        }
        finally
        {
            foreach (var backend in backends)
            {
                await backend.DisposeAsync();
            }

            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task RunKubernetesWithFiles_IsAUsageError()
    {
        var (exit, output) = await SidecarProcess.RunToEndAsync("run", "--kubernetes", "-f", "web.yaml");

        Assert.Equal(2, exit);
        Assert.Contains("-f, --kubernetes: give one source", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunKubernetesWithWatchOptions_IsAUsageError()
    {
        var (exit, output) = await SidecarProcess.RunToEndAsync("run", "--kubernetes", "--no-watch");
        Assert.True(exit == 2, $"exit {exit}:\n{output}");
        Assert.Contains("--no-watch: only with -f files", output, StringComparison.Ordinal);

        (exit, output) = await SidecarProcess.RunToEndAsync("run", "--kubernetes", "--watch");
        Assert.True(exit == 2, $"exit {exit}:\n{output}");
        Assert.Contains("--watch: only with -f files", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunKubernetesWithMissingKubeconfig_SaysSo()
    {
        var (exit, output) = await SidecarProcess.RunToEndAsync("run", "--kubernetes", "--kubeconfig", "/nonexistent/kubeconfig", "--admin", "off", "--dns", "off");

        Assert.Equal(1, exit);
        Assert.Contains("--kubernetes: no usable credentials: kubeconfig: no such file: /nonexistent/kubeconfig", output, StringComparison.Ordinal);
    }
}
