using System.Buffers.Binary;

namespace FastProxy.Dns.Tests;

/// <summary>Builds query packets byte by byte, so tests control every field (and can break any of them).</summary>
internal static class DnsPackets
{
    /// <summary>A standard query with RD, one question, and an EDNS OPT record when <paramref name="ednsPayload"/> is given.</summary>
    public static byte[] Query(ushort id, string name, ushort type = 1, ushort? ednsPayload = null)
    {
        var bytes = new List<byte>();
        AddUInt16(bytes, id);
        AddUInt16(bytes, 0x0100);
        AddUInt16(bytes, 1);
        AddUInt16(bytes, 0);
        AddUInt16(bytes, 0);
        AddUInt16(bytes, (ushort)(ednsPayload is null ? 0 : 1));
        bytes.AddRange(Name(name));
        AddUInt16(bytes, type);
        AddUInt16(bytes, 1);
        if (ednsPayload is { } payload)
        {
            bytes.Add(0);
            AddUInt16(bytes, 41);
            AddUInt16(bytes, payload);
            bytes.AddRange([0, 0, 0, 0, 0, 0]);
        }

        return [.. bytes];
    }

    /// <summary>A name in wire form, uncompressed.</summary>
    public static byte[] Name(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(label.Select(c => (byte)c));
        }

        bytes.Add(0);
        return [.. bytes];
    }

    /// <summary>A header of 12 bytes followed by <paramref name="rest"/>.</summary>
    public static byte[] WithHeader(ushort id, ushort questions, ushort additional, params byte[] rest)
    {
        var packet = new byte[12 + rest.Length];
        BinaryPrimitives.WriteUInt16BigEndian(packet, id);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), questions);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), additional);
        rest.CopyTo(packet, 12);
        return packet;
    }

    /// <summary>The ID, flags and response code of a response.</summary>
    public static (ushort Id, bool Response, bool Truncated, int Rcode, int Answers) Header(ReadOnlySpan<byte> response)
        => (BinaryPrimitives.ReadUInt16BigEndian(response), (response[2] & 0x80) != 0, (response[2] & 0x02) != 0, response[3] & 0xF, BinaryPrimitives.ReadUInt16BigEndian(response[6..]));

    private static void AddUInt16(List<byte> bytes, ushort value)
    {
        bytes.Add((byte)(value >> 8));
        bytes.Add((byte)value);
    }
}
