using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>
/// The forwarding hot path over real loopback sockets: an echo backend, FastProxy in front of it, and a
/// client in the same process. Allocations are the whole process's (client and backend included), so
/// the direct runs are the baseline for what the proxy adds.
/// </summary>
[MemoryDiagnoser]
public class ForwardingBenchmarks
{
    private const int ChunksPerInvoke = 64;
    private readonly byte[] _chunk = new byte[16 * 1024];
    private readonly byte[] _reply = new byte[16 * 1024];
    private EchoServer _backend = null!;
    private ProxyServer _proxy = null!;
    private IPEndPoint _virtualEndPoint = null!;
    private Socket _direct = null!;
    private Socket _proxied = null!;

    /// <summary>How the proxy moves the bytes.</summary>
    public enum ForwardingPath
    {
        /// <summary>Socket-to-socket relay on FastProxy's epoll loops, connects included (the default on Linux x86-64).</summary>
        EpollRelay,

        /// <summary>Socket-to-socket relay on the runtime's socket engine (the default elsewhere).</summary>
        AsyncRelay,

        /// <summary>Pipe-to-pipe copy (taken when middleware reads the connection).</summary>
        Pipes,
    }

    [Params(ForwardingPath.EpollRelay, ForwardingPath.AsyncRelay, ForwardingPath.Pipes)]
    public ForwardingPath Path { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _backend = EchoServer.Start(new IPEndPoint(IPAddress.Parse("127.0.9.1"), 0));
        _virtualEndPoint = new IPEndPoint(IPAddress.Parse("127.96.9.1"), 19000);
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(new Service
            {
                Name = "echo",
                ClusterIP = _virtualEndPoint.Address,
                Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "echo" }),
                Ports = [new ServicePort { Port = _virtualEndPoint.Port, TargetPort = _backend.EndPoint.Port }],
            })
            .SetPod(new Pod { Name = "echo-1", Address = _backend.EndPoint.Address, Labels = new Dictionary<string, string> { ["app"] = "echo" } }));
        _proxy = new ProxyServerBuilder(catalog)
            .UseSockets(new Transport.Sockets.SocketTransportOptions { ConnectThroughEpoll = Path == ForwardingPath.EpollRelay })
            .Configure(o =>
            {
                o.UseSocketRelay = Path != ForwardingPath.Pipes;
                o.UseEpollRelay = Path == ForwardingPath.EpollRelay;
            })
            .Build();
        await _proxy.StartAsync();
        _direct = await Connect(_backend.EndPoint);
        _proxied = await Connect(_virtualEndPoint);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _direct.Dispose();
        _proxied.Dispose();
        await _proxy.DisposeAsync();
        await _backend.DisposeAsync();
    }

    /// <summary>16 KiB out and back on a kept-open connection, straight to the backend.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = ChunksPerInvoke)]
    public Task EchoChunkDirect() => EchoChunks(_direct);

    /// <summary>16 KiB out and back on a kept-open connection through the proxy.</summary>
    [Benchmark(OperationsPerInvoke = ChunksPerInvoke)]
    public Task EchoChunkProxied() => EchoChunks(_proxied);

    /// <summary>A whole connection straight to the backend: what the client and the backend allocate on their own.</summary>
    [Benchmark]
    public Task DirectConnection() => OneConnection(_backend.EndPoint);

    /// <summary>A whole proxied connection: accept, pick, connect, 1 byte each way, FIN both ways, close.</summary>
    [Benchmark]
    public Task ProxiedConnection() => OneConnection(_virtualEndPoint);

    private async Task OneConnection(IPEndPoint endPoint)
    {
        using var socket = await Connect(endPoint);
        await socket.SendAsync(_chunk.AsMemory(0, 1), SocketFlags.None);
        await ReceiveExactly(socket, _reply.AsMemory(0, 1));
        socket.Shutdown(SocketShutdown.Send);
        await socket.ReceiveAsync(_reply.AsMemory(), SocketFlags.None);
    }

    private async Task EchoChunks(Socket socket)
    {
        for (var i = 0; i < ChunksPerInvoke; i++)
        {
            await socket.SendAsync(_chunk.AsMemory(), SocketFlags.None);
            await ReceiveExactly(socket, _reply.AsMemory());
        }
    }

    private static async Task<Socket> Connect(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    private static async ValueTask ReceiveExactly(Socket socket, Memory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (read == 0)
            {
                throw new EndOfStreamException();
            }

            buffer = buffer[read..];
        }
    }
}
