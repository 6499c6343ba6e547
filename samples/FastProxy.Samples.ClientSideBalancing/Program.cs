// In-process client-side balancing: HttpClient calls http://payments:3000/ and each connection goes
// straight to one pod of the service, chosen by the service's strategy. No proxy runs and nothing
// listens on the service's virtual IP: the pods see this process's own sockets as their peers.
// Everything is on loopback (pods 127.0.7.1-3:3000, virtual IP 127.96.0.70) and ends by itself.
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Catalog;
using FastProxy.Discovery;
using FastProxy.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));

// 1. Three pods: tiny HTTP servers that answer with their name and the peer they see.
var pods = new[] { ("payments-1", "127.0.7.1"), ("payments-2", "127.0.7.2"), ("payments-3", "127.0.7.3") };
var servers = new List<WebApplication>();
foreach (var (name, address) in pods)
{
    servers.Add(await StartPodAsync(name, $"http://{address}:3000", stop.Token));
}

// 2. The catalog: service "payments" (port 3000, round robin) selecting the pods.
var virtualIP = IPAddress.Parse("127.96.0.70");
var catalog = new ServiceCatalog();
var update = new CatalogUpdate().SetService(new Service
{
    Name = "payments",
    ClusterIP = virtualIP,
    Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "payments" }),
    Ports = [new ServicePort { Port = 3000 }],
});
foreach (var (name, address) in pods)
{
    update.SetPod(new Pod { Name = name, Address = IPAddress.Parse(address), Labels = new Dictionary<string, string> { ["app"] = "payments" } });
}

catalog.Apply(update);

// 3. HttpClient connects through the connector: "payments:3000" resolves in the catalog, not in DNS.
var connector = new ServiceConnector(catalog);
using var http = new HttpClient(new SocketsHttpHandler
{
    ConnectCallback = connector.ConnectCallback,

    // Balancing is per connection. One connection per request here, so every request is balanced; a
    // long-running client would rather renew its connections every minute or so.
    PooledConnectionLifetime = TimeSpan.Zero,
});
for (var i = 1; i <= 6; i++)
{
    Console.WriteLine($"request {i}: {await http.GetStringAsync(new Uri("http://payments:3000/"), stop.Token)}");
}

// 4. The same connector gives a plain stream too (here by the service's full DNS name). Its socket is
//    the one the pod sees as its peer: there is no hop in between.
await using (var stream = await connector.ConnectAsync("payments.default.svc.cluster.local", 3000, stop.Token))
{
    await stream.WriteAsync("GET / HTTP/1.0\r\nHost: payments\r\n\r\n"u8.ToArray(), stop.Token);
    using var reader = new StreamReader(stream, Encoding.ASCII);
    var response = await reader.ReadToEndAsync(stop.Token);
    var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
    Console.WriteLine($"plain stream: this process {stream.Socket.LocalEndPoint} -> {stream.Socket.RemoteEndPoint}; {body}");
}

// 5. Nothing listens on the service's virtual IP: no proxy was needed.
using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
{
    try
    {
        await probe.ConnectAsync(new IPEndPoint(virtualIP, 3000), stop.Token);
        Console.WriteLine($"virtual IP {virtualIP}:3000: something listens there");
    }
    catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
    {
        Console.WriteLine($"virtual IP {virtualIP}:3000: connection refused, no proxy listens");
    }
}

foreach (var server in servers)
{
    await server.StopAsync(stop.Token);
    await server.DisposeAsync();
}

static async Task<WebApplication> StartPodAsync(string name, string url, CancellationToken cancellationToken)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseUrls(url);
    var app = builder.Build();
    app.MapGet("/", (HttpContext context) => $"{name} answered; it saw the client at {context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}");
    await app.StartAsync(cancellationToken);
    return app;
}
