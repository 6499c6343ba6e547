using System.Buffers.Binary;
using System.Net;
using FastProxy.Balancing;

namespace FastProxy.Affinity;

/// <summary>A client IP address as a 128-bit value: an exact, allocation-free dictionary key (IPv4-mapped IPv6 folded to IPv4).</summary>
internal readonly record struct ClientAddress(ulong High, ulong Low)
{
    public static ClientAddress From(EndPoint? client)
    {
        if (client is not IPEndPoint ip)
        {
            return default;
        }

        Span<byte> bytes = stackalloc byte[16];
        var length = ClientHashing.WriteAddress(ip.Address, bytes);
        if (length == 4)
        {
            // Tag IPv4 in the high word so it can never equal an IPv6 address.
            return new ClientAddress(ulong.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(bytes));
        }

        return new ClientAddress(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }
}
