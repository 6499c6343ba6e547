using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Etcdserverpb;
using FastProxy.Etcd;
using Google.Protobuf;
using Grpc.Net.Client;

// Scale-out bench: one real etcd and three real `fastproxy run --etcd` nodes on loopback, every process
// stopped by PID at the end. Measures (a) how long a pod registering in etcd takes to carry traffic on
// every node, (b) how long every node takes to converge on thousands of pods, with the nodes' CPU and
// memory and etcd's, (c) how long the nodes take to come back after an etcd restart.
//   dotnet run -c Release --project bench/FastProxy.ScaleOut -- [registrations] [pod counts, comma-separated] [results file]
var registrations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
var podCounts = args.Length > 1 ? args[1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [1000, 5000];
var resultsFile = args.Length > 2 ? args[2] : null;
var report = new StringBuilder();
void Say(string line)
{
    Console.WriteLine(line);
    report.AppendLine(line);
}

var processes = new List<Process>();
var dataDir = Directory.CreateTempSubdirectory("fastproxy-scaleout-");
var etcdUrl = "http://127.232.0.1:23790";
using var channel = GrpcChannel.ForAddress(etcdUrl, new GrpcChannelOptions { MaxReceiveMessageSize = 256 << 20 });
var kv = new KV.KVClient(channel);
Process? etcd = null;
var nodes = new List<(Process Process, string Admin)>();
var backends = new List<TcpListener>();
using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(20));   // the whole run is bounded
using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
try
{
    etcd = StartEtcd();
    await WaitAsync(async () => { await kv.RangeAsync(new RangeRequest { Key = Bytes("/") }, deadline: DateTime.UtcNow.AddSeconds(2)); return true; }, "etcd answers");
    var sidecar = Path.Combine(AppContext.BaseDirectory, "FastProxy.Sidecar.dll");
    for (var n = 1; n <= 3; n++)
    {
        var admin = $"127.231.{n}.2:9901";
        var process = Start("dotnet", sidecar, "run", "--etcd", etcdUrl, "--node-address", $"127.231.{n}.1", "--service-cidr", $"127.231.{n}.0/25",
            "--admin", admin, "--dns", "off", "--drain-timeout", "1s");
        nodes.Add((process, admin));
    }

    foreach (var (_, admin) in nodes)
    {
        await WaitAsync(async () => (await GetJsonAsync(admin, "/api/sources")).GetProperty("etcd").GetProperty("synced").GetBoolean(), $"node {admin} synced");
    }

    Say($"# Scale-out: 1 etcd ({EtcdVersion()}), 3 `fastproxy run --etcd` nodes, loopback, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    Say("");
    Say($"Command: `dotnet run -c Release --project bench/FastProxy.ScaleOut -- {registrations} {string.Join(',', podCounts)}`");
    Say("");

    // (a) Propagation: service reg-i selects only pod reg-i; the clock runs from the registration's start
    // (lease grant + put) to the first connection through each node's virtual IP that the pod answers.
    for (var i = 1; i <= registrations; i++)
    {
        await PutAsync($"/fastproxy/services/default/reg-{i}", ServiceJson($"reg-{i}", 18080, 8080, $"reg-{i}"));
    }

    var vips = new List<Dictionary<string, IPEndPoint>>();
    foreach (var (_, admin) in nodes)
    {
        await WaitAsync(async () => (await GetJsonAsync(admin, "/api/endpoints")).GetProperty("services").GetArrayLength() >= registrations, $"node {admin} has the services");
        vips.Add(await VirtualEndPointsAsync(admin));
    }

    var everyNode = new List<double>();
    var perNode = new List<double>();
    for (var i = 1; i <= registrations; i++)
    {
        var address = IPAddress.Parse($"127.230.{i}.1");
        var listener = new TcpListener(address, 8080);
        listener.Start();
        backends.Add(listener);
        _ = ServeNameAsync(listener, $"reg-{i}", stop.Token);
        var clock = Stopwatch.StartNew();
        await using var registration = new EtcdPodRegistration(new EtcdPodRegistrationOptions { Endpoint = new Uri(etcdUrl), Manifest = PodJson($"reg-{i}", address, $"reg-{i}") });
        registration.Start();
        var times = await Task.WhenAll(vips.Select(v => FirstAnswerAsync(v[$"reg-{i}"], $"reg-{i}", clock)));
        perNode.AddRange(times);
        everyNode.Add(times.Max());
    }

    Say("## (a) Pod registration to traffic on every node");
    Say("");
    Say($"{registrations} registrations (`EtcdPodRegistration`: lease grant + put), each timed to the first connection through each node's virtual IP that the new pod answers (clients poll every 5 ms).");
    Say("");
    Say("| | median | p95 | max |");
    Say("|---|---|---|---|");
    Say($"| every node (slowest of 3) | {Median(everyNode):F1} ms | {P95(everyNode):F1} ms | {everyNode.Max():F1} ms |");
    Say($"| one node | {Median(perNode):F1} ms | {P95(perNode):F1} ms | {perNode.Max():F1} ms |");
    Say("");

    // (b) Watch load: N pods of one service put at 32 in flight; every node converged when its source has applied
    // the last put's revision and its catalog holds N endpoints.
    await PutAsync("/fastproxy/services/default/bulk", ServiceJson("bulk", 18081, 8080, "bulk"));
    Say("## (b) Watch load: thousands of pods");
    Say("");
    Say("| pods | put all (32 in flight) | every node converged | node CPU during the phase (each, mean) | node RSS after (mean) | etcd CPU | etcd RSS after | delete all: every node converged |");
    Say("|---|---|---|---|---|---|---|---|");
    foreach (var count in podCounts)
    {
        var cpuBefore = nodes.Select(n => CpuSeconds(n.Process)).ToArray();
        var etcdCpuBefore = CpuSeconds(etcd);
        var clock = Stopwatch.StartNew();
        var next = 0;
        long lastRevision = 0;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            int k;
            while ((k = Interlocked.Increment(ref next)) <= count)
            {
                var address = IPAddress.Parse($"127.{240 + (k / 60000)}.{k / 250 % 240}.{1 + (k % 250)}");
                var revision = await PutAsync($"/fastproxy/pods/default/bulk-{k}", PodJson($"bulk-{k}", address, "bulk"));
                InterlockedMax(ref lastRevision, revision);
            }
        }));
        var putAll = clock.Elapsed.TotalMilliseconds;
        foreach (var (_, admin) in nodes)
        {
            await WaitAsync(async () => (await GetJsonAsync(admin, "/api/sources")).GetProperty("etcd").GetProperty("revision").GetInt64() >= lastRevision, $"node {admin} at revision {lastRevision}", TimeSpan.FromMinutes(5));
        }

        var converged = clock.Elapsed.TotalMilliseconds;
        foreach (var (_, admin) in nodes)
        {
            var endpoints = await BulkEndpointsAsync(admin);
            if (endpoints != count)
            {
                throw new InvalidOperationException($"node {admin} holds {endpoints} bulk endpoints, expected {count}");
            }
        }

        var cpu = nodes.Select((n, i) => CpuSeconds(n.Process) - cpuBefore[i]).Average();
        var rss = nodes.Select(n => RssMiB(n.Process)).Average();
        var etcdCpu = CpuSeconds(etcd) - etcdCpuBefore;
        var etcdRss = RssMiB(etcd);

        clock.Restart();
        var deleted = (await kv.DeleteRangeAsync(new DeleteRangeRequest { Key = Bytes("/fastproxy/pods/default/bulk-"), RangeEnd = Bytes("/fastproxy/pods/default/bulk.") })).Header.Revision;
        foreach (var (_, admin) in nodes)
        {
            await WaitAsync(async () => (await GetJsonAsync(admin, "/api/sources")).GetProperty("etcd").GetProperty("revision").GetInt64() >= deleted && await BulkEndpointsAsync(admin) == 0, $"node {admin} emptied", TimeSpan.FromMinutes(5));
        }

        var deleteAll = clock.Elapsed.TotalMilliseconds;
        Say($"| {count:N0} | {putAll / 1000:F2} s | {converged / 1000:F2} s | {cpu:F2} s | {rss:F0} MiB | {etcdCpu:F2} s | {etcdRss:F0} MiB | {deleteAll / 1000:F2} s |");
    }

    Say("");

    // (c) Recovery: etcd killed (SIGKILL), every node sees it, etcd started again on the same data; the time
    // until every node is connected again and until a put made right after the restart reaches every node.
    etcd.Kill();
    await etcd.WaitForExitAsync(stop.Token);
    foreach (var (_, admin) in nodes)
    {
        await WaitAsync(async () => !(await GetJsonAsync(admin, "/api/sources")).GetProperty("etcd").GetProperty("connected").GetBoolean(), $"node {admin} saw etcd go");
    }

    await Task.Delay(TimeSpan.FromSeconds(10), stop.Token);   // down long enough for the nodes' backoff to reach its 5 s cap
    var recovery = Stopwatch.StartNew();
    etcd = StartEtcd();
    await WaitAsync(async () => { await kv.RangeAsync(new RangeRequest { Key = Bytes("/") }, deadline: DateTime.UtcNow.AddSeconds(2)); return true; }, "etcd answers again");
    var etcdUp = recovery.Elapsed.TotalMilliseconds;
    var after = await PutAsync("/fastproxy/pods/default/after-restart", PodJson("after-restart", IPAddress.Parse("127.230.250.1"), "none"));
    foreach (var (_, admin) in nodes)
    {
        await WaitAsync(async () => (await GetJsonAsync(admin, "/api/sources")).GetProperty("etcd").GetProperty("revision").GetInt64() >= after, $"node {admin} caught up");
    }

    var caughtUp = recovery.Elapsed.TotalMilliseconds;
    Say("## (c) Recovery after an etcd restart");
    Say("");
    Say("etcd killed, down 10 s (the nodes keep serving their last snapshot and back off to their 5 s cap), then started again on the same data:");
    Say("");
    Say($"- etcd answering again: {etcdUp / 1000:F2} s after its start");
    Say($"- a put made then, applied on every node: {caughtUp / 1000:F2} s after etcd's start (bounded by the nodes' retry backoff, at most 5 s plus jitter)");
    if (resultsFile is not null)
    {
        await File.WriteAllTextAsync(resultsFile, report.ToString());
    }

    return 0;
}
finally
{
    foreach (var (process, _) in nodes)
    {
        StopProcess(process);
    }

    if (etcd is not null)
    {
        StopProcess(etcd);
    }

    foreach (var listener in backends)
    {
        listener.Stop();
    }

    dataDir.Delete(recursive: true);
}

Process StartEtcd()
{
    const string peer = "http://127.232.0.1:23800";
    return Start("/usr/bin/etcd", "--name", "bench", "--data-dir", dataDir.FullName, "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", $"bench={peer}", "--quota-backend-bytes", "4294967296");
}

Process Start(string file, params string[] arguments)
{
    var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, _) => { };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    processes.Add(process);
    return process;
}

static void StopProcess(Process process)
{
    if (!process.HasExited)
    {
        process.Kill();
        process.WaitForExit(10_000);
    }
}

async Task<long> PutAsync(string key, string value)
    => (await kv.PutAsync(new PutRequest { Key = Bytes(key), Value = Bytes(value) }, deadline: DateTime.UtcNow.AddSeconds(30))).Header.Revision;

async Task<JsonElement> GetJsonAsync(string admin, string path)
{
    using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://{admin}{path}"), stop.Token));
    return document.RootElement.Clone();
}

async Task<Dictionary<string, IPEndPoint>> VirtualEndPointsAsync(string admin)
    => (await GetJsonAsync(admin, "/api/endpoints")).GetProperty("services").EnumerateArray()
        .ToDictionary(s => s.GetProperty("name").GetString()!, s => IPEndPoint.Parse(s.GetProperty("ports")[0].GetProperty("virtual").GetString()!));

async Task<int> BulkEndpointsAsync(string admin)
    => (await GetJsonAsync(admin, "/api/endpoints")).GetProperty("services").EnumerateArray()
        .Where(s => s.GetProperty("name").GetString() == "bulk")
        .Sum(s => s.GetProperty("ports")[0].GetProperty("endpoints").GetArrayLength());

async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
{
    var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
    while (true)
    {
        try
        {
            if (await condition())
            {
                return;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or Grpc.Core.RpcException or IOException or TaskCanceledException && !stop.IsCancellationRequested)
        {
        }

        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"timed out waiting until {what}");
        }

        await Task.Delay(20, stop.Token);
    }
}

async Task<double> FirstAnswerAsync(IPEndPoint vip, string name, Stopwatch clock)
{
    var buffer = new byte[64];
    while (clock.Elapsed < TimeSpan.FromSeconds(60))
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            attempt.CancelAfter(TimeSpan.FromSeconds(2));
            await socket.ConnectAsync(vip, attempt.Token);
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, attempt.Token);
            if (read > 0 && Encoding.ASCII.GetString(buffer, 0, read).StartsWith(name, StringComparison.Ordinal))
            {
                return clock.Elapsed.TotalMilliseconds;
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !stop.IsCancellationRequested)
        {
        }

        await Task.Delay(5, stop.Token);
    }

    throw new TimeoutException($"{name} never answered through {vip}");
}

static async Task ServeNameAsync(TcpListener listener, string name, CancellationToken cancellationToken)
{
    var greeting = Encoding.ASCII.GetBytes(name + "\n");
    try
    {
        while (true)
        {
            using var client = await listener.AcceptSocketAsync(cancellationToken);
            await client.SendAsync(greeting, SocketFlags.None, cancellationToken);
            client.Shutdown(SocketShutdown.Both);
        }
    }
    catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
    {
    }
}

static ByteString Bytes(string text) => ByteString.CopyFromUtf8(text);

static string ServiceJson(string name, int port, int targetPort, string app)
    => $$$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"{{{name}}}"},"spec":{"selector":{"app":"{{{app}}}"},"ports":[{"port":{{{port}}},"targetPort":{{{targetPort}}}}]}}""";

static string PodJson(string name, IPAddress ip, string app)
    => $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}","labels":{"app":"{{{app}}}"}},"spec":{},"status":{"phase":"Running","podIP":"{{{ip}}}"}}""";

static double CpuSeconds(Process process)
{
    // utime + stime of /proc/PID/stat, in clock ticks (100 a second on Linux).
    var stat = File.ReadAllText($"/proc/{process.Id}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

static double RssMiB(Process process)
{
    var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
}

static string EtcdVersion()
{
    using var process = Process.Start(new ProcessStartInfo("/usr/bin/etcd", "--version") { RedirectStandardOutput = true })!;
    var first = process.StandardOutput.ReadLine() ?? "etcd";
    process.WaitForExit(10_000);
    return first.Trim();
}

static void InterlockedMax(ref long target, long value)
{
    long current;
    while ((current = Interlocked.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
    {
    }
}

static double Median(List<double> values) => Percentile(values, 0.5);

static double P95(List<double> values) => Percentile(values, 0.95);

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToArray();
    return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
