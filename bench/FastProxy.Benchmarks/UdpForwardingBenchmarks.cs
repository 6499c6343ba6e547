using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>
/// UDP through the proxy vs straight to the backend, in one run, over real loopback sockets: an echo
/// backend, FastProxy's UDP listener in front of it, a client in the same process. Every socket uses the
/// <see cref="SocketAddress"/> overloads, so the allocations shown are the proxy's.
/// <list type="bullet">
/// <item><c>RoundTrip*</c>: one datagram out and its echo back, one at a time: the mean is the round-trip
/// latency, and Proxied minus Direct is what the proxy adds.</item>
/// <item><c>Window*</c>: 32 datagrams in flight, then their 32 echoes: the mean per datagram is the inverse
/// of the datagrams per second one client gets.</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "GlobalCleanup disposes the sockets; BenchmarkDotNet owns the instance's lifetime.")]
public class UdpForwardingBenchmarks
{
    private const int RoundTrips = 64;
    private const int Window = 32;

    private readonly byte[] _datagram = new byte[64];
    private readonly byte[] _reply = new byte[64 * 1024];
    private readonly SocketAddress _from = new(AddressFamily.InterNetwork);
    private Socket _backend = null!;
    private Task _echo = null!;
    private ProxyServer _proxy = null!;
    private Socket _client = null!;
    private SocketAddress _direct = null!;
    private SocketAddress _proxied = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _backend = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _backend.Bind(new IPEndPoint(IPAddress.Parse("127.0.9.53"), 0));
        _echo = EchoAsync(_backend);
        var backend = (IPEndPoint)_backend.LocalEndPoint!;
        var virtualEndPoint = new IPEndPoint(IPAddress.Parse("127.96.9.53"), 5353);
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(new Service
            {
                Name = "echo",
                ClusterIP = virtualEndPoint.Address,
                Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "echo" }),
                Ports = [new ServicePort { Port = virtualEndPoint.Port, TargetPort = backend.Port, Protocol = ServiceProtocol.Udp }],
            })
            .SetPod(new Pod { Name = "echo-1", Address = backend.Address, Labels = new Dictionary<string, string> { ["app"] = "echo" } }));
        _proxy = new ProxyServerBuilder(catalog).UseSockets().Build();
        await _proxy.StartAsync();
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _client.Bind(new IPEndPoint(IPAddress.Parse("127.0.9.54"), 0));
        _direct = backend.Serialize();
        _proxied = virtualEndPoint.Serialize();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _client.Dispose();
        await _proxy.DisposeAsync();
        _backend.Dispose();
        await _echo;
    }

    /// <summary>64 bytes out and back, straight to the backend.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = RoundTrips)]
    public Task RoundTripDirect() => RoundTripsAsync(_direct);

    /// <summary>64 bytes out and back through the proxy's UDP VIP.</summary>
    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public Task RoundTripProxied() => RoundTripsAsync(_proxied);

    /// <summary>32 datagrams of 64 bytes in flight, straight to the backend.</summary>
    [Benchmark(OperationsPerInvoke = Window)]
    public Task WindowDirect() => WindowAsync(_direct);

    /// <summary>32 datagrams of 64 bytes in flight through the proxy.</summary>
    [Benchmark(OperationsPerInvoke = Window)]
    public Task WindowProxied() => WindowAsync(_proxied);

    private async Task RoundTripsAsync(SocketAddress to)
    {
        for (var i = 0; i < RoundTrips; i++)
        {
            await _client.SendToAsync(_datagram, SocketFlags.None, to);
            await _client.ReceiveFromAsync(_reply, SocketFlags.None, _from);
        }
    }

    private async Task WindowAsync(SocketAddress to)
    {
        // 32 small datagrams stay far below every socket buffer on the way, so none is lost (a loss would hang the run).
        for (var i = 0; i < Window; i++)
        {
            await _client.SendToAsync(_datagram, SocketFlags.None, to);
        }

        for (var i = 0; i < Window; i++)
        {
            await _client.ReceiveFromAsync(_reply, SocketFlags.None, _from);
        }
    }

    private static async Task EchoAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        try
        {
            while (true)
            {
                var length = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from);
                await socket.SendToAsync(buffer.AsMemory(0, length), SocketFlags.None, from);
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            // Cleanup disposed the socket.
        }
    }
}
