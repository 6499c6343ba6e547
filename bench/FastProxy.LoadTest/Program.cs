using System.CommandLine;
using System.Net;
using FastProxy;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Transport.Sockets;

// `proxy`: FastProxy as the end-to-end load bench (bench/loadtest/run.sh) starts every peer: one
// service on --listen, round robin over --backend, until SIGINT/SIGTERM.
var listen = new Option<string>("--listen") { Description = "The virtual IP:port to listen on (loopback).", Required = true };
var backends = new Option<string[]>("--backend") { Description = "A backend IP:port; repeat for more. All share one port.", Required = true, AllowMultipleArgumentsPerToken = false };
var ioQueues = new Option<int?>("--io-queues") { Description = "Socket transport I/O queues (default: the transport's own default)." };
var proxy = new Command("proxy", "Run FastProxy in front of the given backends until stopped.") { listen, backends, ioQueues };
proxy.SetAction(async (parse, cancellationToken) =>
{
    var vip = IPEndPoint.Parse(parse.GetValue(listen)!);
    var pods = parse.GetValue(backends)!.Select(IPEndPoint.Parse).ToArray();
    if (pods.Select(p => p.Port).Distinct().Count() != 1)
    {
        Console.Error.WriteLine("--backend: every backend must use the same port (one service targetPort).");
        return 2;
    }

    var catalog = new ServiceCatalog();
    var update = new CatalogUpdate().SetService(new Service
    {
        Name = "bench",
        ClusterIP = vip.Address,
        Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "bench" }),
        Ports = [new ServicePort { Port = vip.Port, TargetPort = pods[0].Port }],
    });
    for (var i = 0; i < pods.Length; i++)
    {
        update.SetPod(new Pod { Name = $"bench-{i + 1}", Address = pods[i].Address, Labels = new Dictionary<string, string> { ["app"] = "bench" } });
    }

    catalog.Apply(update);
    var transport = new SocketTransportOptions();
    if (parse.GetValue(ioQueues) is { } queues)
    {
        transport.IOQueueCount = queues;
    }

    await using var server = new ProxyServerBuilder(catalog)
        .UseSockets(transport)
        .Configure(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1))
        .Build();
    await server.StartAsync(cancellationToken);
    Console.WriteLine($"fastproxy listening on {vip} -> {string.Join(", ", pods.Select(p => p.ToString()))}");
    try
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }
    catch (OperationCanceledException)
    {
        // Stopped by the bench harness.
    }

    await server.StopAsync(CancellationToken.None);
    return 0;
});

var root = new RootCommand("FastProxy end-to-end load bench target.") { proxy };
return await root.Parse(args).InvokeAsync();
