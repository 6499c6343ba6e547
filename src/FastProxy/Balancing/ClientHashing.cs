using System.Buffers.Binary;
using System.IO.Hashing;
using System.Net;

namespace FastProxy.Balancing;

/// <summary>Stable, allocation-free hashes of a client address and flow (see <see cref="PickContext"/>).</summary>
internal static class ClientHashing
{
    public static (ulong Flow, ulong Address) Hash(EndPoint? client)
    {
        if (client is not IPEndPoint ip)
        {
            return (0, 0);
        }

        // Room for an IPv6 address and the port behind it.
        Span<byte> key = stackalloc byte[18];
        var length = WriteAddress(ip.Address, key);
        var address = XxHash3.HashToUInt64(key[..length]);
        BinaryPrimitives.WriteUInt16BigEndian(key[length..], (ushort)ip.Port);
        var flow = XxHash3.HashToUInt64(key[..(length + 2)]);
        return (flow, address);
    }

    /// <summary>Writes the address bytes, IPv4-mapped IPv6 as IPv4 so a dual-stack listener hashes a client as an IPv4 one would.</summary>
    public static int WriteAddress(IPAddress address, Span<byte> destination)
    {
        address.TryWriteBytes(destination, out var written);
        if (written == 16 && address.IsIPv4MappedToIPv6)
        {
            // MapToIPv4 would allocate; the IPv4 address is the last four bytes.
            destination.Slice(12, 4).CopyTo(destination);
            return 4;
        }

        return written;
    }

    /// <summary>A stable 64-bit hash of a string (endpoint identities for Maglev and ring hash).</summary>
    public static ulong Hash(string value, ulong seed = 0)
        => XxHash3.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(value.AsSpan()), (long)seed);
}
