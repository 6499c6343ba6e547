using System.Net;
using FastProxy.Catalog;
using static FastProxy.Tests.Kubernetes.KubernetesTestEnvironment;

namespace FastProxy.Tests.Kubernetes;

/// <summary>Recorded API objects drive a real proxy: a connection to the service's cluster IP reaches a real loopback pod.</summary>
public sealed class KubernetesEndToEndTests
{
    [Fact]
    public async Task ServiceFromTheApiServer_ForwardsThroughTheVirtualIP_AndFollowsSliceEvents()
    {
        var (podPrefix, vip) = TestAddresses.Next();
        var catalog = new ServiceCatalog();
        await using var env = Create(catalog: catalog);
        var proxy = new ProxyServerBuilder(catalog).UseSockets().Configure(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2)).Build();
        var backends = ServeWeb(env.Server, podPrefix, vip, pods: 3);
        try
        {
            // Later the second pod turns ready.
            var slice = System.Text.Json.Nodes.JsonNode.Parse(Localize(Fixture("endpointslices.json"), podPrefix, vip))!["items"]![0]!;
            slice["metadata"]!["resourceVersion"] = "1020";
            slice["endpoints"]![1]!["conditions"] = new System.Text.Json.Nodes.JsonObject { ["ready"] = true, ["serving"] = true, ["terminating"] = false };
            var modified = new System.Text.Json.Nodes.JsonObject { ["type"] = "MODIFIED", ["object"] = slice.DeepClone() }.ToJsonString();

            await proxy.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await env.StartAsync();
            await proxy.WhenAppliedAsync(catalog.Current.Version).WaitAsync(TimeSpan.FromSeconds(10));

            var service = new IPEndPoint(vip, 18080);
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal("web-1", await TestClient.WhoServesAsync(service));
            }

            await env.Server.WhenWatchHeldAsync(SlicesPath);
            env.Server.EnqueueWatch(SlicesPath, [modified]);
            env.Server.DropWatches();
            await EventuallyAsync(() => env.Service("web").Ports[0].Internal.Endpoints.Length == 2, "the slice event makes web-2 ready");
            var seen = new HashSet<string>();
            for (var i = 0; i < 20 && seen.Count < 2; i++)
            {
                seen.Add(await TestClient.WhoServesAsync(service));
            }

            Assert.Equal(["web-1", "web-2"], seen.Order());
            Assert.Equal(0, backends[2].Accepted);
        }
        finally
        {
            await proxy.StopAsync();
            await proxy.DisposeAsync();
            foreach (var backend in backends)
            {
                await backend.DisposeAsync();
            }
        }
    }
}
