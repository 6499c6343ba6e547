using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text.Unicode;
using FastProxy.Model;

namespace FastProxy.Connections;

/// <summary>
/// Writes the PROXY protocol header a backend reads before the client's bytes: v1 text or v2 binary, TCP4 or
/// TCP6 (an IPv4 client of a dual-stack socket is written as IPv4), into a caller's buffer (no allocation).
/// </summary>
internal static class ProxyHeaderWriter
{
    /// <summary>Room enough for either version: v1 is at most 107 bytes, v2 with TCP6 addresses 52.</summary>
    public const int MaxLength = ProxyHeaderParser.MaxV1Length;

    /// <summary>Writes the header for a client at <paramref name="source"/> that connected to <paramref name="destination"/>; returns its length.</summary>
    public static int Write(Span<byte> buffer, ProxyProtocolVersion version, EndPoint? source, EndPoint? destination)
    {
        var known = Normalize(source, destination, out var from, out var to);
        return version == ProxyProtocolVersion.V1 ? WriteV1(buffer, known, from, to) : WriteV2(buffer, known, from, to);
    }

    private static int WriteV1(Span<byte> buffer, bool known, IPEndPoint from, IPEndPoint to)
    {
        if (!known)
        {
            "PROXY UNKNOWN\r\n"u8.CopyTo(buffer);
            return 15;
        }

        var protocol = from.AddressFamily == AddressFamily.InterNetwork ? "TCP4" : "TCP6";
        Utf8.TryWrite(buffer, $"PROXY {protocol} {from.Address} {to.Address} {from.Port} {to.Port}\r\n", out var written);
        return written;
    }

    private static int WriteV2(Span<byte> buffer, bool known, IPEndPoint from, IPEndPoint to)
    {
        ProxyHeaderParser.V2Signature.CopyTo(buffer);

        // Version 2, command PROXY.
        buffer[12] = 0x21;
        if (!known)
        {
            // PROXY with UNSPEC and no addresses: the receiver uses the connection's own.
            buffer[13] = 0x00;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[14..], 0);
            return 16;
        }

        var ipv4 = from.AddressFamily == AddressFamily.InterNetwork;
        var size = ipv4 ? 4 : 16;
        buffer[13] = ipv4 ? (byte)0x11 : (byte)0x21;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[14..], (ushort)((2 * size) + 4));
        var addresses = buffer[16..];
        from.Address.TryWriteBytes(addresses, out _);
        to.Address.TryWriteBytes(addresses[size..], out _);
        BinaryPrimitives.WriteUInt16BigEndian(addresses[(2 * size)..], (ushort)from.Port);
        BinaryPrimitives.WriteUInt16BigEndian(addresses[((2 * size) + 2)..], (ushort)to.Port);
        return 16 + (2 * size) + 4;
    }

    /// <summary>Both addresses in one family: IPv4 when both are (or map to) IPv4, else both IPv6. False when either is not IP.</summary>
    private static bool Normalize(EndPoint? source, EndPoint? destination, out IPEndPoint from, out IPEndPoint to)
    {
        from = to = null!;
        if (source is not IPEndPoint s || destination is not IPEndPoint d)
        {
            return false;
        }

        var sourceAddress = Plain(s.Address);
        var destinationAddress = Plain(d.Address);
        if (sourceAddress.AddressFamily != destinationAddress.AddressFamily)
        {
            sourceAddress = sourceAddress.MapToIPv6();
            destinationAddress = destinationAddress.MapToIPv6();
        }

        from = ReferenceEquals(sourceAddress, s.Address) ? s : new IPEndPoint(sourceAddress, s.Port);
        to = ReferenceEquals(destinationAddress, d.Address) ? d : new IPEndPoint(destinationAddress, d.Port);
        return true;
    }

    /// <summary>An IPv4-mapped address as IPv4; an IPv6 address without its scope id (the header has no room for one).</summary>
    private static IPAddress Plain(IPAddress address)
        => address.IsIPv4MappedToIPv6 ? address.MapToIPv4()
            : address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0 ? new IPAddress(address.GetAddressBytes())
            : address;
}
