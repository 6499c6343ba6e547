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
var pipes = new Option<bool>("--pipes") { Description = "Copy through the connections' pipes instead of the socket-to-socket relay (to measure the relay)." };
var threadPool = new Option<bool>("--threadpool-completions") { Description = "Queue socket completions to the thread pool (.NET's default) instead of running them on the epoll threads as the sidecar does." };
var eagerBuffers = new Option<bool>("--no-zero-byte-reads") { Description = "Receive straight into a pool block instead of waiting for data with a zero-byte receive first (implies --pipes: the relay always waits)." };
var noSplice = new Option<bool>("--no-splice") { Description = "Copy bulk data through user space instead of splice(2) (Linux)." };
var blockSize = new Option<int?>("--block-size") { Description = "Memory pool block size in bytes (default: the transport's own default)." };
var noEpoll = new Option<bool>("--no-epoll") { Description = "Drive the relay's sockets with the runtime's socket engine instead of FastProxy's epoll loops (Linux x86-64)." };
var proxy = new Command("proxy", "Run FastProxy in front of the given backends until stopped.") { listen, backends, ioQueues, pipes, threadPool, blockSize, eagerBuffers, noSplice, noEpoll };
proxy.SetAction(async (parse, cancellationToken) =>
{
    var vip = IPEndPoint.Parse(parse.GetValue(listen)!);
    var pods = parse.GetValue(backends)!.Select(IPEndPoint.Parse).ToArray();
    if (pods.Select(p => p.Port).Distinct().Count() != 1)
    {
        Console.Error.WriteLine("--backend: every backend must use the same port (one service targetPort).");
        return 2;
    }

    // As the sidecar does (SocketEngineSettings): read once by the runtime when the first socket is created,
    // which has not happened yet.
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", parse.GetValue(threadPool) ? "0" : "1");

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

    transport.ConnectThroughEpoll = !parse.GetValue(noEpoll);
    var noZeroByteReads = parse.GetValue(eagerBuffers);
    transport.WaitForDataBeforeAllocatingBuffer = !noZeroByteReads;
    if (parse.GetValue(blockSize) is { } size)
    {
        transport.BlockSize = size;
    }

    await using var server = new ProxyServerBuilder(catalog)
        .UseSockets(transport)
        .Configure(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(1);
            o.UseSocketRelay = !parse.GetValue(pipes) && !noZeroByteReads;
            o.UseSplice = !parse.GetValue(noSplice);
            o.UseEpollRelay = !parse.GetValue(noEpoll);
        })
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

// `compare`: the whole side-by-side bench in one command. It runs bench/loadtest/run.sh (which installs and
// configures HAProxy, nginx, wrk and iperf3) with this very build as the FastProxy target.
var scriptArgs = new Argument<string[]>("args") { Description = "Passed to bench/loadtest/run.sh as they are (see run.sh --help), e.g. --quick or --rounds 5.", Arity = ArgumentArity.ZeroOrMore };
var compare = new Command("compare", "Run the side-by-side bench (direct, FastProxy, HAProxy, nginx stream) and print the table. Needs root (apt-get, port 80 on loopback VIPs).") { scriptArgs };
compare.TreatUnmatchedTokensAsErrors = false;
compare.SetAction(async (parse, cancellationToken) =>
{
    var start = new System.Diagnostics.ProcessStartInfo("bash") { UseShellExecute = false };
    start.ArgumentList.Add(Path.Combine(RepositoryRoot(), "bench", "loadtest", "run.sh"));

    // The raw words after `compare`, in their order: the parser would split options (unmatched tokens) from
    // their values (arguments), and `--rounds 5` must reach the script as it was written.
    foreach (var arg in args.SkipWhile(a => a != "compare").Skip(1))
    {
        start.ArgumentList.Add(arg);
    }

    // This build, not whatever happens to sit in bin/: `dotnet run` just built it.
    // Started as `dotnet FastProxy.LoadTest.dll` the host needs the dll; `dotnet run` starts the apphost, which does not.
    var self = Environment.ProcessPath!;
    start.Environment["FASTPROXY_CMD"] = Path.GetFileNameWithoutExtension(self) == "dotnet"
        ? $"{self} {typeof(Program).Assembly.Location} proxy"
        : $"{self} proxy";
    using var process = System.Diagnostics.Process.Start(start)!;
    try
    {
        await process.WaitForExitAsync(cancellationToken);
    }
    catch (OperationCanceledException)
    {
        // Ctrl+C reaches the script too; it stops what it started by PID. Wait for that, bounded.
        await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
    }

    return process.ExitCode;
});

var root = new RootCommand("FastProxy end-to-end load bench: `compare` runs the whole side-by-side bench; `proxy` is the FastProxy target it starts.") { compare, proxy };
return await root.Parse(args).InvokeAsync();

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "FastProxy.sln")))
        {
            return dir.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}
