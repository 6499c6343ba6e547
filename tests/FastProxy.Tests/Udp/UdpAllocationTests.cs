using System.Net;
using System.Net.Sockets;
using FastProxy.Forwarding.Udp;
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

        // The least of three windows: a steady cost per datagram shows in every one, while the runtime's
        // own background work (or a previous test's sockets still closing) shows in some.
        var perRoundTrip = double.MaxValue;
        for (var window = 0; window < 3; window++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            await PingPongAsync(client, service, datagram, reply, from, Measured).WaitAsync(TestIO.Timeout);
            var allocated = (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / Measured;
            _output.WriteLine($"{Measured} round trips of {size} bytes through the proxy: {allocated:0.##} bytes allocated per round trip (process-wide)");
            perRoundTrip = Math.Min(perRoundTrip, allocated);
        }

        Assert.True(perRoundTrip < 16, $"{perRoundTrip:0.##} bytes allocated per round trip");
        Assert.Equal(1, host.Table.Count);
        Assert.Equal(Warmup + (3 * Measured), host.Table.Counters.DatagramsFromEndpoint);
        await stop.CancelAsync();
        pod.Dispose();
        await echo;
    }

    /// <summary>
    /// Fills the table to its cap, floods it with as many new clients again (steady state: every new
    /// client evicts one), then with twice as many more: the managed heap stays where it was, and exactly
    /// the cap of upstream sockets stays open.
    /// </summary>
    [Fact]
    public async Task FloodBeyondTheCap_KeepsMemoryAtTheCapsLevel()
    {
        const int Cap = 1000;
        await using var host = UdpTestHost.Create();
        host.StartBackends(1)[0].RecordSources = false;
        await host.StartAsync(host.EchoService() with { Udp = new Model.UdpSessionPolicy { MaxSessions = Cap } });
        var empty = Heap();

        await ClientsAsync(host, Cap, firstAddress: 100);
        var atCap = Heap();
        await ClientsAsync(host, Cap, firstAddress: 120);
        var steady = Heap();
        var descriptors = OpenDescriptors();
        await ClientsAsync(host, 2 * Cap, firstAddress: 140);
        var afterFlood = Heap();
        var descriptorsAfterFlood = OpenDescriptors();

        _output.WriteLine(
            $"managed heap: empty {empty / 1024} KiB; {Cap} sessions (the cap) {atCap / 1024} KiB, {(atCap - empty) / (double)Cap:0} bytes per session; "
            + $"after {Cap} more clients {steady / 1024} KiB; after {2 * Cap} more {afterFlood / 1024} KiB. Open descriptors: {descriptors}, then {descriptorsAfterFlood}");
        Assert.Equal(Cap, host.Table.Count);
        Assert.Equal(3 * Cap, host.Table.Counters.Ended(UdpSessionEnd.Evicted));
        // Without the cap the flood's 2 x Cap sessions would add twice the cap's memory, four times this bound;
        // with it, what grows is the runtime's own pools (64 KiB reply buffers cached per thread).
        Assert.True(afterFlood - steady < (atCap - empty) / 2, $"the heap grew {(afterFlood - steady) / 1024} KiB during the flood, past half the cap's {(atCap - empty) / 1024} KiB");
        Assert.InRange(descriptorsAfterFlood - descriptors, -16, 16);
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static int OpenDescriptors() => Directory.GetFileSystemEntries("/proc/self/fd").Length;

    /// <summary>
    /// <paramref name="count"/> clients, 50 source ports on each address from <paramref name="firstAddress"/> on; each
    /// asks once, and all stay open until the last has asked, so no two share an address and port.
    /// </summary>
    private static async Task ClientsAsync(UdpTestHost host, int count, int firstAddress)
    {
        var clients = new List<UdpTestClient>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var client = new UdpTestClient(host.Host.At(firstAddress + (i / 50)));
                clients.Add(client);
                await client.WhoAsync(host.VirtualEndPoint);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
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
