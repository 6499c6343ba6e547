using System.Net;
using System.Net.Sockets;
using FastProxy.Transport.Tests;
using Xunit.Abstractions;

namespace FastProxy.Udp.Tests;

/// <summary>The per-datagram path allocates nothing: measured process-wide, so it runs alone (the serial collection).</summary>
[Collection(nameof(SerialTransportTests))]
public sealed class UdpAllocationTests
{
    private const int Warmup = 2_000;
    private const int Measured = 10_000;

    private readonly ITestOutputHelper _output;

    public UdpAllocationTests(ITestOutputHelper output)
    {
        _output = output;
    }

    /// <summary>
    /// Ping-pong through the proxy to an echo pod: per round trip the proxy receives and sends twice and
    /// looks the session up once. Client and pod use the <see cref="SocketAddress"/> overloads too, so what
    /// is left is the proxy's (and the runtime's own background noise).
    /// </summary>
    [Theory]
    [InlineData(64)]
    [InlineData(8192)]
    public async Task PingPong_SteadyState_AllocatesNothingPerDatagram(int size)
    {
        await using var host = UdpTestHost.Create();
        using var pod = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        pod.Bind(new IPEndPoint(host.Host.At(1), 0));
        using var stop = new CancellationTokenSource();
        var echo = EchoAsync(pod, stop.Token);
        host.Catalog.Apply(new Catalog.CatalogUpdate()
            .SetService(new Model.Service
            {
                Name = UdpTestHost.EchoId.Name,
                ClusterIP = host.Host.VirtualIP,
                Selector = Services.Tests.ServiceTestHost.AppSelector("echo"),
                Ports = [new Model.ServicePort { Port = UdpTestHost.ServicePort, TargetPort = ((IPEndPoint)pod.LocalEndPoint!).Port, Protocol = Model.ServiceProtocol.Udp }],
            })
            .SetPod(new Model.Pod { Name = "pod-1", Address = host.Host.At(1), Labels = new Dictionary<string, string> { ["app"] = "echo" } }));
        await host.Host.StartProxyAsync();

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(host.Host.At(100), 0));
        var service = host.VirtualEndPoint.Serialize();
        var datagram = TestIO.Pattern(size, seed: 3);
        var reply = new byte[64 * 1024];
        var from = new SocketAddress(AddressFamily.InterNetwork);

        await PingPongAsync(client, service, datagram, reply, from, Warmup).WaitAsync(TestIO.Timeout);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await PingPongAsync(client, service, datagram, reply, from, Measured).WaitAsync(TestIO.Timeout);
        var perRoundTrip = (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / Measured;

        _output.WriteLine($"{Measured} round trips of {size} bytes through the proxy: {perRoundTrip:0.##} bytes allocated per round trip (process-wide)");
        Assert.True(perRoundTrip < 16, $"{perRoundTrip:0.##} bytes allocated per round trip");
        Assert.Equal(1, host.Table.Count);
        Assert.Equal(Warmup + Measured, host.Table.Counters.DatagramsFromEndpoint);
        await stop.CancelAsync();
        pod.Dispose();
        await echo;
    }

    private static async Task PingPongAsync(Socket client, SocketAddress service, byte[] datagram, byte[] reply, SocketAddress from, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await client.SendToAsync(datagram, SocketFlags.None, service);
            var length = await client.ReceiveFromAsync(reply, SocketFlags.None, from);
            if (length != datagram.Length)
            {
                throw new InvalidOperationException($"Round trip {i}: {length} bytes came back, not {datagram.Length}.");
            }
        }
    }

    private static async Task EchoAsync(Socket pod, CancellationToken stop)
    {
        var buffer = new byte[64 * 1024];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        try
        {
            while (true)
            {
                var length = await pod.ReceiveFromAsync(buffer, SocketFlags.None, from, stop);
                await pod.SendToAsync(buffer.AsMemory(0, length), SocketFlags.None, from, stop);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }
}
