using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Transport.Tests;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// One proxy carrying healthy traffic and faulty services side by side: service <c>default/web</c> with two echo
/// pods and <see cref="HealthyStreamCount"/> <see cref="HealthyStreams"/> running through it, plus the services a
/// fault test adds, whose pods are <see cref="FaultBackend"/>s (or addresses where nothing listens). A test marks
/// its baseline once everything is up, breaks connections, and then checks the proxy recovered: its open-connection
/// count is back to the healthy streams alone and the process's file descriptors to the baseline; finishing checks
/// every healthy byte arrived intact and each healthy stream closed cleanly.
/// </summary>
internal sealed class FaultScenario : IAsyncDisposable
{
    public const int HealthyStreamCount = 4;
    private const int MaxRounds = 100_000;
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(10);
    private readonly List<IAsyncDisposable> _backends = [];
    private readonly Stopwatch _held = Stopwatch.StartNew();
    private HashSet<string> _baselineDescriptors = [];

    private FaultScenario(ProxyTestEnvironment env, HealthyStreams healthy)
    {
        Env = env;
        Healthy = healthy;
    }

    public ProxyTestEnvironment Env { get; }

    public HealthyStreams Healthy { get; }

    public static async Task<FaultScenario> StartAsync(Action<ProxyServerBuilder>? configure = null)
    {
        var env = await ProxyTestEnvironment.StartAsync(pods: 2, configure);
        try
        {
            return new FaultScenario(env, await HealthyStreams.StartAsync(env.VirtualEndPoint, HealthyStreamCount));
        }
        catch
        {
            await env.DisposeAsync();
            throw;
        }
    }

    /// <summary>A fresh loopback block for pods (<c>prefix + n</c>), nobody else's.</summary>
    public static string NextPodBlock() => TestAddresses.Next().PodPrefix;

    /// <summary>Starts fault backends on a fresh block (see <see cref="FaultBackend.StartMany"/>); disposed with the scenario.</summary>
    public FaultBackend[] StartBackends(int count, FaultBackend.Behaviour behaviour, int receiveBuffer = 0, int sendBuffer = 0)
    {
        var backends = FaultBackend.StartMany(NextPodBlock(), count, behaviour, receiveBuffer, sendBuffer);
        _backends.AddRange(backends);
        return backends;
    }

    /// <summary>Keeps a backend the test started itself until the scenario ends.</summary>
    public void Own(IAsyncDisposable backend) => _backends.Add(backend);

    /// <summary>Adds service <paramref name="name"/> on its own virtual IP, selecting one pod per address, all on <paramref name="port"/>.</summary>
    public async Task<IPEndPoint> AddServiceAsync(string name, int port, IEnumerable<IPAddress> pods, ConnectionPolicy? policy = null)
    {
        var virtualIP = TestAddresses.Next().VirtualIP;
        var labels = new Dictionary<string, string> { ["app"] = name };
        var update = new CatalogUpdate().SetService(new Service
        {
            Name = name,
            ClusterIP = virtualIP,
            Selector = new LabelSelector(labels),
            Ports = [new ServicePort { Port = ProxyTestEnvironment.ServicePort, TargetPort = port }],
            ConnectionPolicy = policy ?? ConnectionPolicy.Default,
        });
        var index = 0;
        foreach (var address in pods)
        {
            update.SetPod(new Pod { Name = $"{name}-{++index}", Address = address, Labels = labels });
        }

        var snapshot = Env.Catalog.Apply(update);
        await Env.Proxy.WhenAppliedAsync(snapshot.Version).WaitAsync(TimeSpan.FromSeconds(10));
        return new IPEndPoint(virtualIP, ProxyTestEnvironment.ServicePort);
    }

    /// <inheritdoc cref="AddServiceAsync(string, int, IEnumerable{IPAddress}, ConnectionPolicy?)"/>
    public Task<IPEndPoint> AddServiceAsync(string name, IReadOnlyList<FaultBackend> pods, ConnectionPolicy? policy = null)
        => AddServiceAsync(name, pods[0].EndPoint.Port, pods.Select(p => p.EndPoint.Address), policy);

    /// <summary>Measures the process with every listener up and only the healthy streams open.</summary>
    public ProcessResources MarkBaseline()
    {
        Assert.Equal(HealthyStreamCount, Env.Proxy.ActiveConnections);
        var baseline = ProcessResources.Measure();
        _baselineDescriptors = OpenDescriptors.Snapshot();
        return baseline;
    }

    /// <summary>
    /// Every broken connection is gone: the proxy's open-connection count is back to the healthy streams alone, and no
    /// socket or pipe opened since the baseline is still open (clients, proxy, backends and splice pipes all live in
    /// this process, so any of them left behind shows).
    /// </summary>
    public async Task AssertRecoveredAsync()
    {
        Assert.True(await TestIO.EventuallyAsync(() => Env.Proxy.ActiveConnections == HealthyStreamCount, RecoveryBound),
            $"The proxy still has {Env.Proxy.ActiveConnections} connections open; only the {HealthyStreamCount} healthy streams should be.");
        var leaked = OpenDescriptors.AddedSocketsAndPipes(_baselineDescriptors);
        for (var check = 0; check < 100 && leaked.Count > 0; check++)
        {
            // Sockets close asynchronously after the last connection ends: give teardown its time before calling it a leak.
            await Task.Delay(100);
            leaked = OpenDescriptors.AddedSocketsAndPipes(_baselineDescriptors);
        }

        Assert.True(leaked.Count == 0, $"{leaked.Count} socket(s) or pipe(s) opened since the baseline are still open: {string.Join("; ", leaked)}.");
    }

    /// <summary>The rounds of a scenario's fault: at least one, then more until <paramref name="duration"/> has passed (and never more than a bounded count).</summary>
    public static IEnumerable<int> Rounds(TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        for (var round = 0; round < MaxRounds && (round == 0 || clock.Elapsed < duration); round++)
        {
            yield return round;
        }
    }

    /// <summary>
    /// Ends the scenario: checks the proxy recovered (<see cref="AssertRecoveredAsync"/>), stops the healthy streams
    /// (<see cref="FinishAsync"/>), and records its docs/reliability.md row, whose load column is theirs.
    /// </summary>
    public async Task RecordAsync(ITestOutputHelper output, string scenario, string injected, string lost, string test)
    {
        await AssertRecoveredAsync();
        new ReliabilityRow(scenario, await FinishAsync(), injected, lost, ReliabilityRow.FilterCommand(test)).Record(output);
    }

    /// <summary>Stops the healthy streams (every byte checked, each closed cleanly) and checks the proxy then holds nothing; returns what they carried.</summary>
    public async Task<string> FinishAsync()
    {
        var seconds = _held.Elapsed.TotalSeconds;
        var bytes = await Healthy.StopAsync();
        Assert.True(await TestIO.EventuallyAsync(() => Env.Proxy.ActiveConnections == 0, RecoveryBound), $"{Env.Proxy.ActiveConnections} connection(s) still open after every client left.");
        return string.Create(CultureInfo.InvariantCulture, $"{HealthyStreamCount} echo streams beside it for {seconds:0.0} s: {bytes / (1024.0 * 1024):0.0} MiB echoed, verified byte-exact, clean FIN each");
    }

    /// <summary>
    /// Reads <paramref name="socket"/> until the connection ends, at most <paramref name="bound"/> (then fails: hung),
    /// checking what arrives is <paramref name="stream"/> from its offset when given; returns how long after
    /// <paramref name="since"/> (a <see cref="Stopwatch"/> timestamp) it ended, whether by a reset, and the bytes read.
    /// </summary>
    public static async Task<(TimeSpan After, bool Reset, long Received)> WaitForEndAsync(Socket socket, long since, TimeSpan bound, (long Offset, int Seed)? stream = null)
    {
        var buffer = new byte[64 * 1024];
        long received = 0;
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                if (stream is { } expected)
                {
                    Assert.True(StreamPattern.Matches(buffer.AsSpan(0, read), expected.Offset + received, expected.Seed), $"Byte {expected.Offset + received} on is not the stream's.");
                }

                received += read;
            }

            return (Stopwatch.GetElapsedTime(since), false, received);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (Stopwatch.GetElapsedTime(since), true, received);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The connection was still open {bound.TotalSeconds:0.#} s later: hung.");
        }
    }

    /// <summary>Milliseconds as the table shows them: median and maximum of a scenario's rounds.</summary>
    public static string Summary(IReadOnlyCollection<TimeSpan> times)
    {
        var sorted = times.Order().ToArray();
        return string.Create(CultureInfo.InvariantCulture, $"median {sorted[sorted.Length / 2].TotalMilliseconds:0} ms, max {sorted[^1].TotalMilliseconds:0} ms");
    }

    public async ValueTask DisposeAsync()
    {
        await Env.DisposeAsync();
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }
}
