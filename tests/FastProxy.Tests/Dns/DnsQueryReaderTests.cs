using CsCheck;

namespace FastProxy.Dns.Tests;

/// <summary>
/// The query parser against well-formed, malformed and hostile bytes: it reads what honest clients
/// send, rejects the rest with the status that says what to answer, never throws, and does work and
/// allocation bounded by the packet's length.
/// </summary>
public sealed class DnsQueryReaderTests
{
    // Per parse: the DnsQuery, a name of at most 255 bytes and its lookup string (at most ~1,000
    // characters when every byte is escaped), with the StringBuilder behind it.
    private const long MaxAllocatedBytes = 16 * 1024;

    [Fact]
    public void AQuery_IsRead_NameLowercasedForLookup_AndKeptAsSpelledForTheAnswer()
    {
        var status = DnsQueryReader.Read(DnsPackets.Query(0x1234, "Web.Default.SVC.cluster.local", type: 33, ednsPayload: 1232), out var query, out var id);

        Assert.Equal(DnsReadStatus.Ok, status);
        Assert.Equal(0x1234, id);
        Assert.Equal("web.default.svc.cluster.local", query!.Name);
        Assert.Equal(DnsPackets.Name("Web.Default.SVC.cluster.local"), query.WireName);
        Assert.Equal((33, 1, true, (ushort)1232, true), (query.Type, query.Class, query.HasEdns, query.UdpPayloadSize, query.RecursionDesired));
    }

    [Fact]
    public void OddBytesInALabel_AreEscaped_SoTheyNeverMatchACatalogName()
    {
        // "a.b" as ONE label (a dot inside it) must not read as two labels.
        byte[] name = [3, (byte)'a', (byte)'.', (byte)'b', 0];
        Assert.Equal(DnsReadStatus.Ok, DnsQueryReader.Read(DnsPackets.WithHeader(1, 1, 0, [.. name, 0, 1, 0, 1]), out var query, out _));
        Assert.Equal("a\\046b", query!.Name);
    }

    public static TheoryData<string, byte[]> Malformed => new()
    {
        // Names: a pointer to itself, to a later offset, a loop between two labels, and the OPT owner as a chain.
        { "self pointer", DnsPackets.WithHeader(1, 1, 0, [0xC0, 12, 0, 1, 0, 1]) },
        { "forward pointer", DnsPackets.WithHeader(1, 1, 0, [0xC0, 14, 1, (byte)'a', 0, 0, 1, 0, 1]) },
        { "label then pointer back to it", DnsPackets.WithHeader(1, 1, 0, [1, (byte)'a', 0xC0, 12, 0, 1, 0, 1]) },
        { "extended label type", DnsPackets.WithHeader(1, 1, 0, [0x41, 0, 0, 1, 0, 1]) },
        { "label past the end", DnsPackets.WithHeader(1, 1, 0, [9, (byte)'a', 0]) },
        { "no type and class", DnsPackets.WithHeader(1, 1, 0, [0]) },
        { "two questions", DnsPackets.WithHeader(1, 2, 0, [0, 0, 1, 0, 1, 0, 0, 1, 0, 1]) },
        { "no question", DnsPackets.WithHeader(1, 0, 0) },
        { "additional record missing", DnsPackets.WithHeader(1, 1, 1, [0, 0, 1, 0, 1]) },
        { "RDLENGTH past the end", DnsPackets.WithHeader(1, 1, 1, [0, 0, 1, 0, 1, 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 9]) },
        { "two OPT records", DnsPackets.WithHeader(1, 1, 2, [0, 0, 1, 0, 1, 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0, 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0]) },
        { "OPT option past its RDATA", DnsPackets.WithHeader(1, 1, 1, [0, 0, 1, 0, 1, 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 4, 0, 10, 0, 8]) },
        { "too many records", DnsPackets.WithHeader(1, 1, 200, [0, 0, 1, 0, 1]) },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedQueries_AreFormatErrors_WithTheirId(string why, byte[] packet)
    {
        Assert.True(DnsQueryReader.Read(packet, out var query, out var id) == DnsReadStatus.FormatError, why);
        Assert.Null(query);
        Assert.Equal(1, id);
    }

    [Fact]
    public void ShortPacketsAndResponses_AreDropped_OtherOpcodesNotImplemented()
    {
        Assert.Equal(DnsReadStatus.Drop, DnsQueryReader.Read(new byte[11], out _, out _));
        var response = DnsPackets.Query(1, "a");
        response[2] |= 0x80;
        Assert.Equal(DnsReadStatus.Drop, DnsQueryReader.Read(response, out _, out _));
        var notify = DnsPackets.Query(1, "a");
        notify[2] = 4 << 3;
        Assert.Equal(DnsReadStatus.NotImplemented, DnsQueryReader.Read(notify, out _, out _));
    }

    [Fact]
    public void APointerChain_IsFollowedBackwards_UpToTheLimit_AndNoFurther()
    {
        // Question "a" at offset 12; a record whose RDATA is a chain of pointers, each to the one before
        // (the first to the question); a second record whose owner points to the last of them.
        static byte[] Chain(int hops)
        {
            var rest = new List<byte> { 1, (byte)'a', 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, (byte)(2 * (hops - 1)) };
            var previous = 12;
            for (var i = 0; i < hops - 1; i++)
            {
                var at = 12 + rest.Count;
                rest.AddRange([(byte)(0xC0 | (previous >> 8)), (byte)previous]);
                previous = at;
            }

            rest.AddRange([(byte)(0xC0 | (previous >> 8)), (byte)previous, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
            return DnsPackets.WithHeader(1, 1, 2, [.. rest]);
        }

        Assert.Equal(DnsReadStatus.Ok, DnsQueryReader.Read(Chain(DnsQueryReader.MaxPointers), out _, out _));
        Assert.Equal(DnsReadStatus.FormatError, DnsQueryReader.Read(Chain(DnsQueryReader.MaxPointers + 1), out _, out _));
    }

    [Fact]
    public void RandomBytes_NeverThrow_AndWorkAndAllocationStayBounded()
        => Gen.Byte.Array[0, 700].Sample(Holds, iter: 20_000, threads: 1);

    [Fact]
    public void RandomBytesAfterAValidHeader_NeverThrow_AndWorkAndAllocationStayBounded()
        => Gen.Select(Gen.Int[0, 65535], Gen.Int[0, 20], Gen.Byte.Array[0, 600], (id, additional, rest) => DnsPackets.WithHeader((ushort)id, 1, (ushort)additional, rest))
            .Sample(Holds, iter: 20_000, threads: 1);

    [Fact]
    public void MutatedValidQueries_NeverThrow_AndWorkAndAllocationStayBounded()
    {
        var valid = DnsPackets.Query(7, "_http._tcp.web.default.svc.cluster.local", type: 33, ednsPayload: 1232);
        var mutation = Gen.Select(Gen.Int[0, valid.Length - 1].Array[1, 8], Gen.Byte.Array[8], Gen.Int[0, valid.Length + 64], (positions, values, length) =>
            {
                var packet = valid.ToArray();
                for (var i = 0; i < positions.Length; i++)
                {
                    packet[positions[i]] = values[i];
                }

                // Cut short or padded with zeros: the lengths and counts no longer agree.
                Array.Resize(ref packet, length);
                return packet;
            });
        mutation.Sample(Holds, iter: 20_000, threads: 1);
    }

    private static bool Holds(byte[] packet)
    {
        var steps = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        DnsQueryReader.Read(packet, out _, out _, ref steps);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Every step reads at least one byte except pointer hops: at most MaxPointers per name, and one
        // name per record plus the question.
        var maxSteps = packet.Length + ((DnsQueryReader.MaxOtherRecords + 1) * (DnsQueryReader.MaxPointers + 2)) + DnsQueryReader.MaxOtherRecords;
        return steps <= maxSteps && allocated <= MaxAllocatedBytes;
    }
}
