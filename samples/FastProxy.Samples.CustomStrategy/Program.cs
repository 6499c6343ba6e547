// A custom balancing strategy in one registration line: an active/passive "primary-backup" strategy
// (PrimaryBackupStrategy.cs), a service that names it, the primary dying, the backup taking over.
// Everything is on loopback and ends by itself.
using System.Net;
using FastProxy;
using FastProxy.Catalog;
using FastProxy.Model;
using static FastProxy.Samples.DemoPods;
using FastProxy.Samples.CustomStrategy;

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));

// 1. Register the strategy: this is the one line a custom strategy needs.
var catalog = new ServiceCatalog(new ServiceCatalogOptions { Strategies = { new PrimaryBackupStrategy() } });

// 2. Two pods; the primary has the higher weight.
using var primaryStop = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
var primary = GreetingServer("db-primary", new IPEndPoint(IPAddress.Parse("127.0.1.21"), 9001), primaryStop.Token);
var backup = GreetingServer("db-backup", new IPEndPoint(IPAddress.Parse("127.0.1.22"), 9001), stop.Token);
var labels = new Dictionary<string, string> { ["app"] = "db" };
catalog.Apply(new CatalogUpdate()
    .SetService(new Service
    {
        Name = "db",
        ClusterIP = IPAddress.Parse("127.96.0.21"),
        Selector = new LabelSelector(labels),
        Ports = [new ServicePort { Port = 9001 }],
        Balancer = PrimaryBackupStrategy.StrategyName,
    })
    .SetPod(new Pod { Name = "db-primary", Address = IPAddress.Parse("127.0.1.21"), Labels = labels, Weight = 100 })
    .SetPod(new Pod { Name = "db-backup", Address = IPAddress.Parse("127.0.1.22"), Labels = labels, Weight = 1 }));

await using var proxy = new ProxyServerBuilder(catalog).UseSockets().Build();
await proxy.StartAsync(stop.Token);
var vip = new IPEndPoint(IPAddress.Parse("127.96.0.21"), 9001);

for (var i = 1; i <= 3; i++)
{
    Console.WriteLine($"connection {i}: served by {await WhoServes(vip, stop.Token)}");
}

// 3. The primary's process dies without the catalog knowing: the proxy's connect retry asks the
// strategy again (attempt 1), and the backup serves. The client never sees the failure.
await primaryStop.CancelAsync();
await primary;
Console.WriteLine($"primary down: served by {await WhoServes(vip, stop.Token)}");

await proxy.StopAsync(stop.Token);
await stop.CancelAsync();
await backup;
