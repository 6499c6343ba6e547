using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace FastProxy.Connections;

/// <summary>
/// Parses a PROXY protocol v1 or v2 header (HAProxy's proxy-protocol.txt), told apart by their signatures.
/// Pure and bounded: it looks at no more than <see cref="MaxLength"/> bytes and never throws, so it can be
/// fed whatever a client sends (the tests fuzz it).
/// </summary>
internal static class ProxyHeaderParser
{
    /// <summary>The longest v1 line the specification allows, CRLF included.</summary>
    public const int MaxV1Length = 107;

    /// <summary>
    /// The longest v2 header accepted: the 16 fixed bytes, the largest address block (UNIX, 216 bytes) and room
    /// for TLVs (cloud load balancers add a few dozen bytes). A longer one is refused rather than buffered.
    /// </summary>
    public const int MaxV2Length = 16 + 216 + 1816;

    /// <summary>The most bytes a header may take.</summary>
    public const int MaxLength = MaxV2Length;

    private const int V2FixedLength = 16;

    /// <summary>The v2 signature: \r\n\r\n\0\r\nQUIT\n.</summary>
    public static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    /// <summary>
    /// Parses the start of <paramref name="data"/>. On <see cref="ProxyHeaderStatus.Complete"/>,
    /// <paramref name="length"/> is the header's size; on <see cref="ProxyHeaderStatus.Invalid"/>,
    /// <paramref name="error"/> says why. <see cref="ProxyHeaderStatus.Incomplete"/> means every byte given may
    /// still be part of a header.
    /// </summary>
    public static ProxyHeaderStatus TryParse(ReadOnlySpan<byte> data, out ProxyHeader header, out int length, out string? error)
    {
        header = default;
        length = 0;
        error = null;
        if (data.IsEmpty)
        {
            return ProxyHeaderStatus.Incomplete;
        }

        if (data[0] == V2Signature[0])
        {
            return ParseV2(data, out header, out length, out error);
        }

        if (data[0] == V1Prefix[0])
        {
            return ParseV1(data, out header, out length, out error);
        }

        error = "the connection does not start with a PROXY protocol v1 or v2 signature";
        return ProxyHeaderStatus.Invalid;
    }

    private static ProxyHeaderStatus ParseV2(ReadOnlySpan<byte> data, out ProxyHeader header, out int length, out string? error)
    {
        header = default;
        length = 0;
        error = null;
        var signature = V2Signature;
        var compared = Math.Min(data.Length, signature.Length);
        if (!data[..compared].SequenceEqual(signature[..compared]))
        {
            error = "bad v2 signature";
            return ProxyHeaderStatus.Invalid;
        }

        if (data.Length < V2FixedLength)
        {
            return ProxyHeaderStatus.Incomplete;
        }

        var versionCommand = data[12];
        if (versionCommand >> 4 != 2)
        {
            error = $"v2 version must be 2, got {versionCommand >> 4}";
            return ProxyHeaderStatus.Invalid;
        }

        var command = versionCommand & 0x0F;
        if (command > 1)
        {
            error = $"v2 command must be LOCAL (0) or PROXY (1), got {command}";
            return ProxyHeaderStatus.Invalid;
        }

        var family = data[13] >> 4;
        var transport = data[13] & 0x0F;
        if (family > 3 || transport > 2)
        {
            error = $"v2 address family/protocol 0x{data[13]:X2} is not defined";
            return ProxyHeaderStatus.Invalid;
        }

        var total = V2FixedLength + BinaryPrimitives.ReadUInt16BigEndian(data[14..16]);
        if (total > MaxV2Length)
        {
            error = $"v2 header of {total} bytes is longer than the {MaxV2Length} accepted";
            return ProxyHeaderStatus.Invalid;
        }

        if (data.Length < total)
        {
            return ProxyHeaderStatus.Incomplete;
        }

        length = total;
        var addresses = data[V2FixedLength..total];
        if (command == 0)
        {
            // LOCAL: the balancer's own connection (a health check); its address block, if any, is ignored.
            header = new ProxyHeader(null, null, IsLocal: true);
            return ProxyHeaderStatus.Complete;
        }

        if (transport != 1 || family is not (1 or 2))
        {
            // UNSPEC, UDP or UNIX: the specification lets the receiver use the connection's own addresses.
            return ProxyHeaderStatus.Complete;
        }

        var addressLength = family == 1 ? 4 : 16;
        if (addresses.Length < (2 * addressLength) + 4)
        {
            error = $"v2 address block of {addresses.Length} bytes is too short for {(family == 1 ? "TCP4" : "TCP6")}";
            length = 0;
            return ProxyHeaderStatus.Invalid;
        }

        var source = new IPAddress(addresses[..addressLength]);
        var destination = new IPAddress(addresses.Slice(addressLength, addressLength));
        var sourcePort = BinaryPrimitives.ReadUInt16BigEndian(addresses.Slice(2 * addressLength, 2));
        var destinationPort = BinaryPrimitives.ReadUInt16BigEndian(addresses.Slice((2 * addressLength) + 2, 2));
        header = new ProxyHeader(new IPEndPoint(source, sourcePort), new IPEndPoint(destination, destinationPort), IsLocal: false);
        return ProxyHeaderStatus.Complete;
    }

    private static ProxyHeaderStatus ParseV1(ReadOnlySpan<byte> data, out ProxyHeader header, out int length, out string? error)
    {
        header = default;
        length = 0;
        error = null;
        var prefix = V1Prefix;
        var compared = Math.Min(data.Length, prefix.Length);
        if (!data[..compared].SequenceEqual(prefix[..compared]))
        {
            error = "bad v1 signature (expected \"PROXY \")";
            return ProxyHeaderStatus.Invalid;
        }

        var window = data[..Math.Min(data.Length, MaxV1Length)];
        var newline = window.IndexOf((byte)'\n');
        if (newline < 0)
        {
            if (data.Length >= MaxV1Length)
            {
                error = $"v1 header has no CRLF within {MaxV1Length} bytes";
                return ProxyHeaderStatus.Invalid;
            }

            return ProxyHeaderStatus.Incomplete;
        }

        if (newline < prefix.Length || data[newline - 1] != '\r')
        {
            error = "v1 header must end with CRLF";
            return ProxyHeaderStatus.Invalid;
        }

        var line = data[prefix.Length..(newline - 1)];
        Span<Range> fields = stackalloc Range[6];
        var count = Split(line, fields);
        var protocol = line[fields[0]];
        if (protocol.SequenceEqual("UNKNOWN"u8))
        {
            // The sender does not know the client (or it is not TCP): the rest of the line is ignored.
            length = newline + 1;
            return ProxyHeaderStatus.Complete;
        }

        var family = protocol.SequenceEqual("TCP4"u8) ? AddressFamily.InterNetwork
            : protocol.SequenceEqual("TCP6"u8) ? AddressFamily.InterNetworkV6
            : AddressFamily.Unknown;
        if (family == AddressFamily.Unknown)
        {
            error = "v1 protocol must be TCP4, TCP6 or UNKNOWN";
            return ProxyHeaderStatus.Invalid;
        }

        if (count != 5)
        {
            error = "v1 header must have exactly: protocol, source, destination, source port, destination port, separated by single spaces";
            return ProxyHeaderStatus.Invalid;
        }

        if (!TryParseAddress(line[fields[1]], family, out var source) || !TryParseAddress(line[fields[2]], family, out var destination))
        {
            error = $"v1 address is not a valid {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address";
            return ProxyHeaderStatus.Invalid;
        }

        if (!TryParsePort(line[fields[3]], out var sourcePort) || !TryParsePort(line[fields[4]], out var destinationPort))
        {
            error = "v1 port must be a decimal number 0-65535 without leading zeros";
            return ProxyHeaderStatus.Invalid;
        }

        length = newline + 1;
        header = new ProxyHeader(new IPEndPoint(source, sourcePort), new IPEndPoint(destination, destinationPort), IsLocal: false);
        return ProxyHeaderStatus.Complete;
    }

    /// <summary>Splits on single spaces into at most <paramref name="fields"/>.Length fields; the last takes the rest.</summary>
    private static int Split(ReadOnlySpan<byte> line, Span<Range> fields)
    {
        var count = 0;
        var start = 0;
        while (count < fields.Length - 1)
        {
            var space = line[start..].IndexOf((byte)' ');
            if (space < 0)
            {
                break;
            }

            fields[count++] = new Range(start, start + space);
            start += space + 1;
        }

        fields[count++] = new Range(start, line.Length);
        return count;
    }

    private static bool TryParseAddress(ReadOnlySpan<byte> text, AddressFamily family, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.IsEmpty || text.Length > 45)
        {
            return false;
        }

        // IPAddress.TryParse also takes shorthands ("127.1", hex octets) and scope ids; the header allows neither.
        var ipv4 = family == AddressFamily.InterNetwork;
        foreach (var c in text)
        {
            var allowed = ipv4 ? c is (byte)'.' || char.IsAsciiDigit((char)c) : c is (byte)':' or (byte)'.' || char.IsAsciiHexDigit((char)c);
            if (!allowed)
            {
                return false;
            }
        }

        if (ipv4 && text.Count((byte)'.') != 3)
        {
            return false;
        }

        return IPAddress.TryParse(text, out address!) && address.AddressFamily == family;
    }

    private static bool TryParsePort(ReadOnlySpan<byte> text, out int port)
    {
        port = 0;
        if (text.IsEmpty || text.Length > 5 || (text.Length > 1 && text[0] == '0'))
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit((char)c))
            {
                return false;
            }

            port = (port * 10) + (c - '0');
        }

        return port <= 65535;
    }
}
