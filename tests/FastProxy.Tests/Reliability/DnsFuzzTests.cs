using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CsCheck;
using FastProxy.Dns;
using FastProxy.Dns.Tests;
using FastProxy.Transport.Tests;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Property-based fuzzing of the DNS server: random bytes and mutations of valid queries (bit flips,
/// truncation, splices of two queries, compression pointers aimed anywhere including at themselves, huge
/// section counts) against the whole request path (reader, zone, response writer) and against a live
/// server over UDP and TCP. Nothing throws, each packet costs bounded allocation, every response is a
/// well-formed response to that packet's ID within its transport's size, and valid queries still get their
/// right answer afterwards.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class DnsFuzzTests(ITestOutputHelper output)
{
    private const string WebName = "web.default.svc.cluster.local";
    private static readonly byte[] WebAddress = IPAddress.Parse("127.100.53.10").GetAddressBytes();

    // A response of the largest UDP size and the query's own allocation (see DnsQueryReaderTests): 16 KB
    // per packet is bounded; a response a packet could inflate (say by a pointer loop) would not be.
    private const long MaxAllocatedPerPacket = 16 * 1024;

    private static readonly byte[][] ValidQueries =
    [
        DnsPackets.Query(0x0101, WebName),
        DnsPackets.Query(0x0202, "_http._tcp." + WebName, type: 33, ednsPayload: 1232),
        DnsPackets.Query(0x0303, "db.data.svc.cluster.local", ednsPayload: 4096),
        DnsPackets.Query(0x0404, "10.53.100.127.in-addr.arpa", type: 12),
        DnsPackets.Query(0x0505, "search.default.svc.cluster.local", type: 5),
    ];

    private static readonly Gen<byte[]> Valid = Gen.Int[0, ValidQueries.Length - 1].Select(i => ValidQueries[i]);

    private static readonly Gen<byte[]> BitFlips = Gen.Select(Valid, Gen.Int[0, 1 << 20].Array[1, 8], (packet, bits) =>
    {
        var copy = packet.ToArray();
        foreach (var bit in bits)
        {
            copy[(bit >> 3) % copy.Length] ^= (byte)(1 << (bit & 7));
        }

        return copy;
    });

    private static readonly Gen<byte[]> Truncated = Gen.Select(Valid, Gen.Double[0, 1], (packet, fraction) => packet[..(int)(packet.Length * fraction)]);

    private static readonly Gen<byte[]> Spliced = Gen.Select(Valid, Valid, Gen.Int[0, 80], Gen.Int[0, 80], (a, b, cutA, cutB) =>
        a[..Math.Min(cutA, a.Length)].Concat(b[Math.Min(cutB, b.Length)..]).ToArray());

    /// <summary>Two bytes of a compression pointer written at a random place, aimed at a random offset (itself, before, after, past the end).</summary>
    private static readonly Gen<byte[]> Pointers = Gen.Select(Valid, Gen.Int[12, 80], Gen.Int[0, 0x3FFF].Array[1, 3], (packet, at, targets) =>
    {
        var copy = packet.ToArray();
        foreach (var target in targets)
        {
            var position = Math.Min(at, copy.Length - 2);
            var aim = target % 4 == 0 ? position : target % 128;
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(position), (ushort)(0xC000 | aim));
            at = (at + 7) % copy.Length;
        }

        return copy;
    });

    /// <summary>Section counts set to huge or random values: the reader must not trust them.</summary>
    private static readonly Gen<byte[]> Counts = Gen.Select(Valid, Gen.Int[0, 3], Gen.OneOf(Gen.Const((ushort)0xFFFF), Gen.UShort), (packet, section, count) =>
    {
        var copy = packet.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(4 + (2 * section)), count);
        return copy;
    });

    private static readonly Gen<byte[]> Hostile = Gen.OneOf(Gen.Byte.Array[0, 700], BitFlips, Truncated, Spliced, Pointers, Counts);

    [Fact]
    public void MutatedPackets_ThroughTheRequestPath_NeverThrow_AllocateBoundedly_AndAnswerWellFormed()
    {
        var handler = new DnsRequestHandler(ClusterDnsDigTests.Catalog(), new ClusterZone("cluster.local", 5), 1232, forwards: false);
        var packets = 0L;
        var answered = 0L;
        var worst = 0L;

        // Warm-up: a TCP answer's buffer is rented once per thread from the shared pool (128 KB), which
        // is not per packet; every valid query is answered once on each transport before measuring.
        foreach (var query in ValidQueries)
        {
            Assert.NotNull(handler.Answer(query, tcp: false, out _));
            Assert.NotNull(handler.Answer(query, tcp: true, out _));
        }

        Hostile.Sample(packet =>
        {
            foreach (var tcp in new[] { false, true })
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                var response = handler.Answer(packet, tcp, out var forward);
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.Null(forward);
                Assert.True(allocated <= MaxAllocatedPerPacket, $"{allocated} bytes for {Convert.ToHexString(packet)}");
                InterlockedMax(ref worst, allocated);
                Interlocked.Increment(ref packets);
                if (response is null)
                {
                    continue;
                }

                Interlocked.Increment(ref answered);
                Assert.True(response.Length >= 12 && (response[2] & 0x80) != 0, $"not a response: {Convert.ToHexString(response)}");
                Assert.True(response.Length <= (tcp ? 65535 : 1232), $"{response.Length} bytes over {(tcp ? "TCP" : "UDP")}");
                Assert.True(packet.Length >= 2 && response[0] == packet[0] && response[1] == packet[1], "the response carries the query's ID");
            }
        }, iter: SoakSettings.IsSoak ? 5_000_000 : 50_000, time: SoakSettings.FuzzSeconds, threads: 1);

        // And it still answers right.
        var web = handler.Answer(ValidQueries[0], tcp: false, out _)!;
        Assert.Equal((0x0101, true, false, 0, 1), DnsPackets.Header(web));
        Assert.Equal(WebAddress, web[^4..]);

        new ReliabilityRow(
            "DNS packets (request path)",
            "-",
            string.Create(CultureInfo.InvariantCulture, $"{packets:N0} packets as UDP and TCP (CsCheck): random bytes, bit flips, truncations, splices, compression pointers (self, loops, past the end), huge section counts of 5 valid queries"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: no exception, {answered:N0} well-formed responses with the query's ID, the rest dropped; at most {worst:N0} bytes allocated per packet (bound {MaxAllocatedPerPacket:N0})"),
            ReliabilityRow.FilterCommand(nameof(DnsFuzzTests))).Record(output);
    }

    [Fact]
    public async Task MutatedPackets_ToALiveServerOverUdpAndTcp_LeaveItAnsweringRight_WithBoundedMemory()
    {
        await using var dns = await DnsTestServer.StartAsync(ClusterDnsDigTests.Catalog(), o => o.TcpIdleTimeout = TimeSpan.FromSeconds(2));
        var before = ProcessResources.Measure();
        var udpCount = SoakSettings.IsSoak ? 1_000_000 : 20_000;
        var tcpConnections = SoakSettings.IsSoak ? 20_000 : 400;
        var deadline = DateTime.UtcNow + SoakSettings.DurationOr(TimeSpan.FromSeconds(15));

        // UDP: a flood of hostile datagrams from one socket, in bursts so the receive buffer is not the
        // only thing tested; every reply must be a response.
        using var socket = new Socket(dns.EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(dns.EndPoint);
        var sent = 0;
        var replies = 0;
        var buffer = new byte[65535];
        while (sent < udpCount && DateTime.UtcNow < deadline)
        {
            await socket.SendAsync(Hostile.Single());
            if (++sent % 200 == 0)
            {
                replies += Drain(socket, buffer);
            }
        }

        await Task.Delay(200);
        replies += Drain(socket, buffer);

        // TCP: each connection gets a few hostile messages, framed right or with a lying length prefix,
        // then half-closes; the server answers, closes or times the connection out, and never hangs it.
        var framed = Gen.Select(Hostile.Array[1, 4], Gen.Bool, (messages, lie) => messages.SelectMany(m => lie ? LyingFrame(m) : DnsTcp.Frame(m)).ToArray());
        var tcpSent = 0;
        deadline = DateTime.UtcNow + SoakSettings.DurationOr(TimeSpan.FromSeconds(15));
        while (tcpSent < tcpConnections && DateTime.UtcNow < deadline)
        {
            using var client = await DnsClient.ConnectTcpAsync(dns.EndPoint);
            await client.SendAsync(framed.Single());
            client.Shutdown(SocketShutdown.Send);
            for (var i = 0; i < 10 && await DnsClient.ReadTcpAsync(client) is { } response; i++)
            {
                Assert.True(response.Length >= 12 && (response[2] & 0x80) != 0);
            }

            tcpSent++;
        }

        // Valid queries get their right answer, over both transports.
        var udpAnswer = await DnsClient.UdpAsync(dns.EndPoint, ValidQueries[0]);
        Assert.Equal((0x0101, true, false, 0, 1), DnsPackets.Header(udpAnswer));
        Assert.Equal(WebAddress, udpAnswer[^4..]);
        using (var tcp = await DnsClient.ConnectTcpAsync(dns.EndPoint))
        {
            await tcp.SendAsync(DnsTcp.Frame(ValidQueries[0]));
            var tcpAnswer = await DnsClient.ReadTcpAsync(tcp);
            Assert.Equal((0x0101, true, false, 0, 1), DnsPackets.Header(tcpAnswer));
            Assert.Equal(WebAddress, tcpAnswer![^4..]);
        }

        Assert.True(await TestIO.EventuallyAsync(() => dns.Server.TcpConnections == 0, TimeSpan.FromSeconds(10)), $"{dns.Server.TcpConnections} TCP connections still open");
        var after = await ProcessResources.SettleAsync(before, fdSlack: 4, TimeSpan.FromSeconds(10));
        var grownKilobytes = (after.ManagedHeapBytes - before.ManagedHeapBytes) / 1024;
        Assert.True(after.FileDescriptors <= before.FileDescriptors + 4, $"descriptors {before.FileDescriptors} -> {after.FileDescriptors}");
        Assert.True(grownKilobytes < 8 * 1024, $"managed heap grew {grownKilobytes} KB");

        new ReliabilityRow(
            "DNS packets (live server, UDP + TCP)",
            "valid queries over UDP and TCP after the flood",
            string.Create(CultureInfo.InvariantCulture, $"{sent:N0} hostile datagrams, {tcpSent:N0} TCP connections with 1-4 hostile messages each (true or lying length prefixes)"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: {replies:N0} replies, all well-formed responses; valid queries answered right on both transports; all TCP connections closed; heap {grownKilobytes:+#;-#;0} KB, descriptors {before.FileDescriptors} -> {after.FileDescriptors}"),
            ReliabilityRow.FilterCommand(nameof(DnsFuzzTests))).Record(output);
    }

    /// <summary>A length prefix that promises more than the message: the server waits for bytes that never come.</summary>
    private static byte[] LyingFrame(byte[] message)
    {
        var length = message.Length + 1 + (message.Length / 2);
        return [(byte)(length >> 8), (byte)length, .. message];
    }

    /// <summary>Reads every datagram already waiting, checking each is a response; returns how many.</summary>
    private static int Drain(Socket socket, byte[] buffer)
    {
        var count = 0;
        while (socket.Available > 0 && count < 100_000)
        {
            var received = socket.Receive(buffer);
            Assert.True(received >= 12 && (buffer[2] & 0x80) != 0, $"a reply of {received} bytes that is not a response");
            count++;
        }

        return count;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long seen;
        while (value > (seen = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
