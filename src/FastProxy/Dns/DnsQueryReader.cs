using System.Buffers.Binary;
using System.Text;

namespace FastProxy.Dns;

/// <summary>
/// Reads a query from untrusted bytes: the header, exactly one question, and the other sections only
/// as far as finding an EDNS OPT record. Every read is bounds-checked; a name may follow compression
/// pointers only to strictly earlier offsets and at most <see cref="MaxPointers"/> times, so a pointer
/// loop ends instead of spinning; the number of records skipped is capped. The work per packet is
/// therefore linear in its length, and the only allocations are the question's name (at most 255 wire
/// bytes) and the returned <see cref="DnsQuery"/>.
/// </summary>
internal static class DnsQueryReader
{
    /// <summary>Compression pointers followed in one name at most: a 255-byte name has at most 127 labels, and honest senders never chain more than a few.</summary>
    public const int MaxPointers = 16;

    /// <summary>Records in the answer, authority and additional sections skipped at most (a query normally has none but an OPT record).</summary>
    public const int MaxOtherRecords = 16;

    /// <summary>Reads <paramref name="packet"/>; <paramref name="query"/> is set when the status is <see cref="DnsReadStatus.Ok"/>, <paramref name="id"/> whenever a header could be read.</summary>
    public static DnsReadStatus Read(ReadOnlySpan<byte> packet, out DnsQuery? query, out ushort id)
    {
        var steps = 0;
        return Read(packet, out query, out id, ref steps);
    }

    /// <summary>As <see cref="Read(ReadOnlySpan{byte}, out DnsQuery?, out ushort)"/>, counting the loop steps taken in <paramref name="steps"/>: what tests hold to a bound linear in the packet's length.</summary>
    internal static DnsReadStatus Read(ReadOnlySpan<byte> packet, out DnsQuery? query, out ushort id, ref int steps)
    {
        query = null;
        id = 0;
        if (packet.Length < DnsLimits.HeaderLength)
        {
            return DnsReadStatus.Drop;
        }

        id = BinaryPrimitives.ReadUInt16BigEndian(packet);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if ((flags & 0x8000) != 0)
        {
            return DnsReadStatus.Drop;
        }

        if (((flags >> 11) & 0xF) != 0)
        {
            return DnsReadStatus.NotImplemented;
        }

        var questions = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var others = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) + BinaryPrimitives.ReadUInt16BigEndian(packet[8..]);
        var additional = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);
        if (questions != 1 || others + additional > MaxOtherRecords)
        {
            return DnsReadStatus.FormatError;
        }

        var position = DnsLimits.HeaderLength;
        Span<byte> name = stackalloc byte[DnsLimits.MaxNameLength];
        if (!TryReadName(packet, ref position, name, out var nameLength, ref steps) || position + 4 > packet.Length)
        {
            return DnsReadStatus.FormatError;
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(packet[position..]);
        var @class = BinaryPrimitives.ReadUInt16BigEndian(packet[(position + 2)..]);
        position += 4;

        var hasEdns = false;
        ushort payload = 0;
        byte version = 0;
        Span<byte> skipped = stackalloc byte[DnsLimits.MaxNameLength];
        for (var i = 0; i < others + additional; i++)
        {
            steps++;
            var owner = position;
            if (!TryReadName(packet, ref position, skipped, out var ownerLength, ref steps) || position + 10 > packet.Length)
            {
                return DnsReadStatus.FormatError;
            }

            var recordType = BinaryPrimitives.ReadUInt16BigEndian(packet[position..]);
            var recordClass = BinaryPrimitives.ReadUInt16BigEndian(packet[(position + 2)..]);
            var ttl = BinaryPrimitives.ReadUInt32BigEndian(packet[(position + 4)..]);
            var dataLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(position + 8)..]);
            position += 10;
            if (dataLength > packet.Length - position)
            {
                return DnsReadStatus.FormatError;
            }

            if (recordType == DnsType.Opt)
            {
                // RFC 6891 6.1.1: one OPT, in the additional section, owned by the root.
                if (hasEdns || i < others || ownerLength != 1 || packet[owner] != 0 || !OptionsWellFormed(packet.Slice(position, dataLength), ref steps))
                {
                    return DnsReadStatus.FormatError;
                }

                hasEdns = true;
                payload = recordClass;
                version = (byte)(ttl >> 16);
            }

            position += dataLength;
        }

        query = new DnsQuery
        {
            Id = id,
            Flags = flags,
            WireName = name[..nameLength].ToArray(),
            Name = Presentation(name[..nameLength]),
            Type = type,
            Class = @class,
            HasEdns = hasEdns,
            UdpPayloadSize = payload,
            EdnsVersion = version,
        };
        return DnsReadStatus.Ok;
    }

    /// <summary>
    /// Reads a possibly compressed name at <paramref name="position"/> into <paramref name="into"/>
    /// (uncompressed wire form, root label included) and moves <paramref name="position"/> past it.
    /// </summary>
    public static bool TryReadName(ReadOnlySpan<byte> packet, ref int position, Span<byte> into, out int length, ref int steps)
    {
        length = 0;
        var cursor = position;
        var end = -1;          // where the name ends in the packet: after its first pointer, or after its root label
        var limit = cursor;    // a pointer must go strictly before this, which strictly decreases: no loops
        var pointers = 0;
        while (true)
        {
            steps++;
            if (cursor >= packet.Length)
            {
                return false;
            }

            var label = packet[cursor];
            if ((label & 0xC0) == 0xC0)
            {
                if (cursor + 1 >= packet.Length || ++pointers > MaxPointers)
                {
                    return false;
                }

                var target = ((label & 0x3F) << 8) | packet[cursor + 1];
                if (target >= limit)
                {
                    return false;
                }

                if (end < 0)
                {
                    end = cursor + 2;
                }

                limit = target;
                cursor = target;
                continue;
            }

            if ((label & 0xC0) != 0)
            {
                // 0x40 and 0x80: extended label types (RFC 6891 5), obsolete and unused.
                return false;
            }

            if (length + 1 + label > DnsLimits.MaxNameLength || cursor + 1 + label > packet.Length)
            {
                return false;
            }

            packet.Slice(cursor, 1 + label).CopyTo(into[length..]);
            length += 1 + label;
            cursor += 1 + label;
            if (label == 0)
            {
                position = end < 0 ? cursor : end;
                return true;
            }
        }
    }

    /// <summary>The lookup form of a wire name: lower case, dot-separated, no trailing dot; odd bytes escaped.</summary>
    public static string Presentation(ReadOnlySpan<byte> wire)
    {
        var text = new StringBuilder(wire.Length + 8);
        var position = 0;
        while (position < wire.Length && wire[position] != 0)
        {
            if (text.Length > 0)
            {
                text.Append('.');
            }

            var label = wire.Slice(position + 1, wire[position]);
            foreach (var b in label)
            {
                if (b is >= (byte)'A' and <= (byte)'Z')
                {
                    text.Append((char)(b | 0x20));
                }
                else if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_')
                {
                    text.Append((char)b);
                }
                else
                {
                    text.Append('\\').Append((char)('0' + (b / 100))).Append((char)('0' + (b / 10 % 10))).Append((char)('0' + (b % 10)));
                }
            }

            position += 1 + label.Length;
        }

        return text.ToString();
    }

    private static bool OptionsWellFormed(ReadOnlySpan<byte> options, ref int steps)
    {
        // Each option is code, length, data (RFC 6891 6.1.2); the options themselves are ignored.
        while (options.Length > 0)
        {
            steps++;
            if (options.Length < 4)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (length > options.Length - 4)
            {
                return false;
            }

            options = options[(4 + length)..];
        }

        return true;
    }
}
