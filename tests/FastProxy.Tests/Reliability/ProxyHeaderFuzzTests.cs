using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CsCheck;
using FastProxy.Connections;
using FastProxy.Connections.Tests;
using FastProxy.Model;
using FastProxy.Transport.Tests;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// PROXY protocol headers a hostile client sends. Against the parser: headers built field by field from
/// random and adversarial tokens (v1) and random fixed parts and lengths (v2) never throw, never decide on a
/// byte past the header limit, and are rejected with a reason. Over real sockets to a service that accepts
/// the header: every malformed header gets its connection reset with no connection (so no byte) reaching the
/// backend, a slowloris header that keeps trickling is cut by the header timeout, and a valid connection
/// open alongside keeps echoing.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class ProxyHeaderFuzzTests(ITestOutputHelper output)
{
    private static readonly Gen<string> V1Token = Gen.OneOf(
        Gen.OneOf<string>("TCP4", "TCP6", "UNKNOWN", "tcp4", "UDP4", "", " ", "PROXY", "\r\n", "\0"),
        Gen.OneOf<string>("127.0.0.1", "255.255.255.255", "1.2.3", "1.2.3.4.5", "01.2.3.4", "::1", "2001:db8::1", "::ffff:1.2.3.4", "[::1]", "1:2:3:4:5:6:7:8:9"),
        Gen.OneOf<string>("0", "65535", "65536", "01", "-1", "99999999999999999999", "0x50", "1e3"),
        Gen.Char["\0\t\r\n .:-[]0123456789abcdefPROXYTCP~\u0080\u00ff"].Array[0, 40].Select(c => new string(c)));

    /// <summary>A v1 line: "PROXY", then 0-8 tokens joined by 1-2 spaces, ending in CRLF, LF or nothing.</summary>
    private static readonly Gen<byte[]> V1 = Gen.Select(V1Token.Array[0, 8], Gen.OneOf<string>(" ", "  "), Gen.OneOf<string>("\r\n", "\n", "\r", string.Empty), (tokens, space, end)
        => Encoding.Latin1.GetBytes("PROXY " + string.Join(space, tokens) + end));

    /// <summary>A v2 header: the signature (sometimes damaged), any version/command, family and length, and a random block.</summary>
    private static readonly Gen<byte[]> V2 = Gen.Select(Gen.Byte, Gen.Byte, Gen.OneOf(Gen.UShort, Gen.UShort[0, 300]), Gen.Byte.Array[0, 300], Gen.Int[-1, 11], (versionCommand, family, length, block, damage) =>
    {
        var header = new byte[16 + block.Length];
        ProxyHeaderParserTests.Signature.CopyTo(header, 0);
        if (damage >= 0)
        {
            header[damage] ^= 0x20;
        }

        header[12] = versionCommand;
        header[13] = family;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), length);
        block.CopyTo(header, 16);
        return header;
    });

    private static readonly Gen<byte[]> AnyHeader = Gen.OneOf(V1, V2, Gen.Byte.Array[0, 300]);

    [Fact]
    public void StructuredHeaders_NeverThrow_DecideWithinTheLimit_AndRejectWithAReason()
    {
        var iterations = SoakSettings.IsSoak ? 2_000_000 : 40_000;
        var counts = new int[3];
        var trailing = Gen.Byte.Array[ProxyHeaderParser.MaxLength + 1];
        Gen.Select(AnyHeader, trailing).Sample((header, padding) =>
        {
            var status = ProxyHeaderParser.TryParse(header, out var parsed, out var length, out var error);
            Interlocked.Increment(ref counts[(int)status]);
            switch (status)
            {
                case ProxyHeaderStatus.Complete:
                    Assert.InRange(length, 1, Math.Min(header.Length, ProxyHeaderParser.MaxLength));
                    Assert.Equal(parsed.Source is null, parsed.Destination is null);

                    // The header alone decides: cut right after it, it parses the same.
                    Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeaderParser.TryParse(header.AsSpan(0, length), out var again, out var againLength, out _));
                    Assert.Equal((parsed, length), (again, againLength));
                    break;
                case ProxyHeaderStatus.Invalid:
                    Assert.False(string.IsNullOrWhiteSpace(error));
                    break;
                default:
                    Assert.True(header.Length < ProxyHeaderParser.MaxLength);
                    break;
            }

            // Followed by more than the limit of other bytes, the verdict is made within the limit: never
            // "incomplete", and the same as without them when the header alone was decided.
            var padded = header.Concat(padding).ToArray();
            var paddedStatus = ProxyHeaderParser.TryParse(padded, out _, out var paddedLength, out _);
            Assert.NotEqual(ProxyHeaderStatus.Incomplete, paddedStatus);
            Assert.Equal(ProxyHeaderParser.TryParse(padded.AsSpan(0, ProxyHeaderParser.MaxLength), out _, out _, out _), paddedStatus);
            Assert.True(paddedLength <= ProxyHeaderParser.MaxLength);
            if (status != ProxyHeaderStatus.Incomplete)
            {
                Assert.Equal((status, length), (paddedStatus, paddedLength));
            }
        }, iter: iterations, time: SoakSettings.FuzzSeconds);

        new ReliabilityRow(
            "PROXY headers (parser)",
            "-",
            string.Create(CultureInfo.InvariantCulture, $"{counts.Sum():N0} generated headers (CsCheck): v1 lines of random and adversarial tokens, v2 with random version/command/family/length/block, random bytes; each also followed by 2 KB+ of random bytes"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: no exception; {counts[(int)ProxyHeaderStatus.Invalid]:N0} rejected with a reason, {counts[(int)ProxyHeaderStatus.Complete]:N0} complete, {counts[(int)ProxyHeaderStatus.Incomplete]:N0} incomplete; every verdict made within the {ProxyHeaderParser.MaxLength}-byte limit"),
            ReliabilityRow.FilterCommand(nameof(ProxyHeaderFuzzTests))).Record(output);
    }

    [Fact]
    public async Task MalformedHeadersOverSockets_AreResetBeforeAnyBackendConnection_SlowlorisIsCut_ValidOnesAreServed()
    {
        TestBackend? backend = null;
        await using var env = await PolicyTestEnvironment.StartAsync(
            new ConnectionPolicy { AcceptProxyProtocol = true },
            backend: (name, endPoint) =>
            {
                var started = TestBackend.Start(name, endPoint);
                backend = started;
                return (started, started.EndPoint);
            });
        var before = ProcessResources.Measure();

        // A valid connection open across the whole attack.
        await using var bystander = await TestClient.ConnectAsync(env.VirtualEndPoint);
        await bystander.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP4 10.1.1.1 10.1.1.2 1000 80\r\n"));
        Assert.Equal("pod-1", await bystander.ReadLineAsync());

        // Malformed headers (those the parser rejects outright), each on its own connection, with a valid
        // connection after every tenth: the backend must see exactly the valid ones.
        var target = SoakSettings.IsSoak ? 20_000 : 600;
        var malformed = AnyHeader.Where(h => ProxyHeaderParser.TryParse(h, out _, out _, out _) == ProxyHeaderStatus.Invalid).Array[target].Single();
        var valid = 1;
        for (var i = 0; i < malformed.Length; i++)
        {
            await using (var attacker = await TestClient.ConnectAsync(env.VirtualEndPoint))
            {
                await attacker.SendAsync(malformed[i].Concat("GET /secret HTTP/1.1\r\n\r\n"u8.ToArray()).ToArray());
                await ConnectionAssert.IsResetAsync(attacker);
            }

            if (i % 10 == 9)
            {
                await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
                await client.SendAsync(Encoding.ASCII.GetBytes(FormattableString.Invariant($"PROXY TCP4 10.2.0.{i % 250} 10.1.1.2 {1000 + i} 80\r\n")));
                Assert.Equal("pod-1", await client.ReadLineAsync());
                await ConnectionAssert.EchoesAsync(client);
                valid++;
            }
        }

        Assert.True(await TestIO.EventuallyAsync(() => backend!.Accepted == valid), $"backend accepted {backend!.Accepted}, valid connections {valid}");
        Assert.Equal(malformed.Length, env.Counter("fastproxy.connections.refused", "reason=proxy_header"));

        // Slowloris: 20 connections trickle a v1 header one byte per (fake) second; the 5 s header deadline
        // cuts them all though every one of them was still sending.
        var slow = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => TestClient.ConnectAsync(env.VirtualEndPoint)));
        var line = Encoding.ASCII.GetBytes("PROXY TCP4 10.3.3.3 10.1.1.2 4000 80\r\n");
        Assert.True(await TestIO.EventuallyAsync(() => env.Proxy.ActiveConnections == 1 + slow.Length), $"{env.Proxy.ActiveConnections} active");
        var trickled = 0;
        for (var second = 0; second < 5; second++)
        {
            foreach (var client in slow)
            {
                await client.SendAsync(line.AsMemory(second, 1));
            }

            trickled++;
            env.Time.Advance(TimeSpan.FromSeconds(1));
        }

        foreach (var client in slow)
        {
            await ConnectionAssert.IsResetAsync(client);
            await client.DisposeAsync();
        }

        // Nothing of it reached the backend; the bystander still echoes.
        Assert.Equal(valid, backend!.Accepted);
        await ConnectionAssert.EchoesAsync(bystander, "still here");
        await bystander.DisposeAsync();
        var after = await ProcessResources.SettleAsync(before, fdSlack: 8, TimeSpan.FromSeconds(10));
        Assert.True(after.FileDescriptors <= before.FileDescriptors + 8, $"descriptors {before.FileDescriptors} -> {after.FileDescriptors}");

        new ReliabilityRow(
            "PROXY headers (sockets)",
            "1 valid connection open throughout, plus a valid one after every 10 attacks",
            string.Create(CultureInfo.InvariantCulture, $"{malformed.Length} connections with generated malformed headers followed by a request; 20 slowloris headers at 1 byte per second"),
            string.Create(CultureInfo.InvariantCulture, $"nothing: all {malformed.Length} reset, all 20 slowloris cut at the 5 s header timeout after {trickled} bytes, 0 attack connections reached the backend ({backend.Accepted} accepts = the {valid} valid ones), bystander echoing; descriptors {before.FileDescriptors} -> {after.FileDescriptors}"),
            ReliabilityRow.FilterCommand(nameof(ProxyHeaderFuzzTests))).Record(output);
    }
}
