using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;
using Microsoft.Extensions.Time.Testing;

namespace FastProxy.Connections.Tests;

/// <summary>
/// A proxy on real loopback sockets whose clock is fake: one service with its own name (so its metrics are its
/// own), the given connection policy and <c>pods</c> echo backends. Drain deadlines, queue timeouts and idle
/// timeouts move only when the test advances <see cref="Time"/>.
/// </summary>
internal sealed class PolicyTestEnvironment : IAsyncDisposable
{
    private static int _next;
    private readonly List<IAsyncDisposable> _backends;
    private readonly MeterListener _meters = new();
    private readonly ConcurrentDictionary<string, long> _counters = new(StringComparer.Ordinal);

    private PolicyTestEnvironment(FakeTimeProvider time, ServiceCatalog catalog, ProxyServer proxy, Service service, List<IAsyncDisposable> backends, IReadOnlyList<IPEndPoint> pods, string podPrefix)
    {
        Time = time;
        Catalog = catalog;
        Proxy = proxy;
        Service = service;
        _backends = backends;
        Pods = pods;
        PodPrefix = podPrefix;
        VirtualEndPoint = new IPEndPoint(service.ClusterIP!, ProxyTestEnvironment.ServicePort);
        var label = service.Id.ToString();
        _meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ProxyServer.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var ours = false;
            var key = instrument.Name;
            foreach (var (name, tag) in tags)
            {
                ours |= name == "service" && Equals(tag, label);
                if (name != "service")
                {
                    key += $"|{name}={tag}";
                }
            }

            if (ours)
            {
                _counters.AddOrUpdate(key, value, (_, old) => old + value);
            }
        });
        _meters.Start();
    }

    public FakeTimeProvider Time { get; }

    public ServiceCatalog Catalog { get; }

    public ProxyServer Proxy { get; }

    public Service Service { get; private set; }

    public IReadOnlyList<IPEndPoint> Pods { get; }

    public string PodPrefix { get; }

    public IPEndPoint VirtualEndPoint { get; }

    /// <summary>
    /// Starts the environment. <paramref name="backend"/> starts one pod's server on an endpoint (port 0 for the
    /// first, which picks the port the others share); the echo <see cref="TestBackend"/> by default.
    /// </summary>
    public static async Task<PolicyTestEnvironment> StartAsync(
        ConnectionPolicy policy,
        int pods = 1,
        Func<string, IPEndPoint, (IAsyncDisposable Server, IPEndPoint EndPoint)>? backend = null,
        Func<Service, Service>? customize = null,
        Action<ProxyServerBuilder>? configure = null)
    {
        backend ??= static (name, endPoint) =>
        {
            var server = TestBackend.Start(name, endPoint);
            return (server, server.EndPoint);
        };
        var (podPrefix, virtualIP) = TestAddresses.Next();
        var backends = new List<IAsyncDisposable>();
        var endPoints = new List<IPEndPoint>();
        var port = 0;
        for (var i = 1; i <= pods; i++)
        {
            var (server, endPoint) = backend($"pod-{i}", new IPEndPoint(IPAddress.Parse(podPrefix + i), port));
            backends.Add(server);
            endPoints.Add(endPoint);
            port = endPoint.Port;
        }

        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var catalog = new ServiceCatalog(new ServiceCatalogOptions { TimeProvider = time });
        var service = new Service
        {
            Name = $"conn-{Interlocked.Increment(ref _next)}",
            ClusterIP = virtualIP,
            Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "conn" }),
            Ports = [new ServicePort { Port = ProxyTestEnvironment.ServicePort, TargetPort = port }],
            ConnectionPolicy = policy,
        };
        service = customize?.Invoke(service) ?? service;
        var update = new CatalogUpdate().SetService(service);
        for (var i = 0; i < pods; i++)
        {
            update.SetPod(PodAt(i + 1, endPoints[i].Address));
        }

        catalog.Apply(update);
        var builder = new ProxyServerBuilder(catalog).UseSockets().Configure(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        configure?.Invoke(builder);
        var proxy = builder.Build();
        await proxy.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return new PolicyTestEnvironment(time, catalog, proxy, service, backends, endPoints, podPrefix);
    }

    public static Pod PodAt(int index, IPAddress address, bool terminating = false) => new()
    {
        Name = $"pod-{index}",
        Address = address,
        Labels = new Dictionary<string, string> { ["app"] = "conn" },
        Terminating = terminating,
    };

    /// <summary>The sum of a counter's measurements for this service; <paramref name="tags"/> as <c>name=value</c> pairs in the order recorded.</summary>
    public long Counter(string instrument, params string[] tags)
        => _counters.Where(c => c.Key.StartsWith(instrument, StringComparison.Ordinal) && c.Key.Split('|')[0] == instrument && tags.All(t => c.Key.Contains('|' + t, StringComparison.Ordinal))).Sum(c => c.Value);

    public Task RemovePodAsync(int index) => ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", $"pod-{index}")));

    public Task TerminatePodAsync(int index) => ApplyAsync(new CatalogUpdate().SetPod(PodAt(index, Pods[index - 1].Address, terminating: true)));

    public Task UpdateServiceAsync(Func<Service, Service> change)
    {
        Service = change(Service);
        return ApplyAsync(new CatalogUpdate().SetService(Service));
    }

    public Task RemoveServiceAsync() => ApplyAsync(new CatalogUpdate().RemoveService(Service.Id));

    public async Task ApplyAsync(CatalogUpdate update)
    {
        var snapshot = Catalog.Apply(update);
        await Proxy.WhenAppliedAsync(snapshot.Version).WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Connects and reads the pod's greeting line.</summary>
    public async Task<(TestClient Client, string Pod)> ConnectAsync(IPEndPoint? to = null, IPAddress? source = null)
    {
        var client = await TestClient.ConnectAsync(to ?? VirtualEndPoint, source);
        return (client, await client.ReadLineAsync());
    }

    public async ValueTask DisposeAsync()
    {
        _meters.Dispose();
        await Proxy.DisposeAsync();
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }
}

/// <summary>Assertions about one client connection through the proxy.</summary>
internal static class ConnectionAssert
{
    /// <summary>The connection still carries data both ways: a message comes back echoed.</summary>
    public static async Task EchoesAsync(TestClient client, string message = "ping")
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(message);
        await client.SendAsync(bytes);
        Assert.Equal(message, System.Text.Encoding.ASCII.GetString(await client.ReadExactlyAsync(bytes.Length)));
    }

    /// <summary>The proxy reset the connection (not a FIN: the data was not complete).</summary>
    public static async Task IsResetAsync(TestClient client)
    {
        var error = await Assert.ThrowsAsync<SocketException>(client.ReadToEndAsync);
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
    }

    /// <summary>A new connection is refused: reset at connect or at the first read, with no greeting from any pod.</summary>
    public static async Task IsRefusedAsync(IPEndPoint endPoint)
    {
        var error = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            await using var client = await TestClient.ConnectAsync(endPoint);
            await client.ReadToEndAsync();
        });
        Assert.True(error.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused, error.SocketErrorCode.ToString());
    }
}
