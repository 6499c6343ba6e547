using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace FastProxy.Forwarding.Udp;

/// <summary>
/// A client's address and port on one listener, read straight from the <see cref="SocketAddress"/> a
/// datagram came from: the session table's key, built and compared without allocating.
/// </summary>
internal readonly struct UdpSessionKey : IEquatable<UdpSessionKey>
{
    private readonly ulong _head;
    private readonly ulong _high;
    private readonly ulong _low;
    private readonly uint _scope;
    private readonly int _listener;

    private UdpSessionKey(ulong head, ulong high, ulong low, uint scope, int listener)
    {
        _head = head;
        _high = high;
        _low = low;
        _scope = scope;
        _listener = listener;
    }

    /// <summary>The key of a datagram from <paramref name="client"/> on listener <paramref name="listener"/>.</summary>
    public static UdpSessionKey From(SocketAddress client, int listener)
    {
        var bytes = client.Buffer.Span[..client.Size];
        if (client.Family == AddressFamily.InterNetworkV6 && bytes.Length >= 28)
        {
            // sockaddr_in6: family and port, flow info (not part of who the client is), address, scope id.
            return new UdpSessionKey(
                BinaryPrimitives.ReadUInt32LittleEndian(bytes),
                BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]),
                BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]),
                listener);
        }

        // sockaddr_in: family, port and address in the first eight bytes; the rest is padding.
        return new UdpSessionKey(bytes.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : 0, 0, 0, 0, listener);
    }

    public bool Equals(UdpSessionKey other)
        => _head == other._head && _high == other._high && _low == other._low && _scope == other._scope && _listener == other._listener;

    public override bool Equals(object? obj) => obj is UdpSessionKey other && Equals(other);

    // HashCode is seeded per process: spoofed source addresses cannot be chosen to collide in the table.
    public override int GetHashCode() => HashCode.Combine(_head, _high, _low, _scope, _listener);
}
