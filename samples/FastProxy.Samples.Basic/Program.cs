// Quick start: two backend "pods", one service in front of them, a few connections through the
// virtual IP, a pod leaving, then a clean stop. Everything is on loopback and ends by itself.
using System.Net;
using FastProxy;
using FastProxy.Catalog;
using FastProxy.Model;
using static FastProxy.Samples.DemoPods;

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));

// 1. Two pods: tiny TCP servers that greet each connection with their name.
var pods = new[] { ("web-1", "127.0.1.11"), ("web-2", "127.0.1.12") };
var servers = pods.Select(p => GreetingServer(p.Item1, new IPEndPoint(IPAddress.Parse(p.Item2), 9000), stop.Token)).ToArray();

// 2. The catalog: a service selecting app=web, and the pods.
var catalog = new ServiceCatalog();
var update = new CatalogUpdate().SetService(new Service
{
    Name = "web",
    ClusterIP = IPAddress.Parse("127.96.0.20"),
    Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "web" }),
    Ports = [new ServicePort { Port = 9000 }],
});
foreach (var (name, address) in pods)
{
    update.SetPod(new Pod { Name = name, Address = IPAddress.Parse(address), Labels = new Dictionary<string, string> { ["app"] = "web" } });
}

catalog.Apply(update);

// 3. The proxy follows the catalog.
await using var proxy = new ProxyServerBuilder(catalog).UseSockets().Build();
await proxy.StartAsync(stop.Token);
var vip = new IPEndPoint(IPAddress.Parse("127.96.0.20"), 9000);

for (var i = 0; i < 4; i++)
{
    Console.WriteLine($"connection {i + 1}: served by {await WhoServes(vip, stop.Token)}");
}

// 4. A pod leaves: new connections go to the other one.
catalog.RemovePod(new NamespacedName("default", "web-1"));
Console.WriteLine($"after web-1 left: served by {await WhoServes(vip, stop.Token)}");

await proxy.StopAsync(stop.Token);
await stop.CancelAsync();
await Task.WhenAll(servers);
