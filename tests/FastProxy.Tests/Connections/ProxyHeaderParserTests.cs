using System.Net;
using System.Text;
using CsCheck;
using FastProxy.Model;

namespace FastProxy.Connections.Tests;

/// <summary>The PROXY header parser and writer: the specification's examples, each rejection, a round trip and fuzzing.</summary>
public sealed class ProxyHeaderParserTests
{
    internal static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    [Theory]
    [InlineData("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", "192.168.0.1:56324", "192.168.0.11:443")]
    [InlineData("PROXY TCP6 ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", null, null)]
    [InlineData("PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n", "[2001:db8::1]:0", "[2001:db8::2]:65535")]
    public void V1_SpecificationExamples(string text, string? source, string? destination)
    {
        var status = ProxyHeaderParser.TryParse(Encoding.ASCII.GetBytes(text + "payload"), out var header, out var length, out var error);
        if (source is null)
        {
            Assert.Equal(ProxyHeaderStatus.Invalid, status);
            Assert.NotNull(error);
            return;
        }

        Assert.Equal(ProxyHeaderStatus.Complete, status);
        Assert.Equal(text.Length, length);
        Assert.Equal(IPEndPoint.Parse(source), header.Source);
        Assert.Equal(IPEndPoint.Parse(destination!), header.Destination);
    }

    [Fact]
    public void V1_Unknown_KeepsTheConnectionsAddresses()
    {
        var text = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
        Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeaderParser.TryParse(Encoding.ASCII.GetBytes(text), out var header, out var length, out _));
        Assert.Equal(text.Length, length);
        Assert.Null(header.Source);
    }

    [Theory]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "CRLF")]
    [InlineData("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "TCP4, TCP6 or UNKNOWN")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "exactly")]
    [InlineData("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "exactly")]
    [InlineData("PROXY TCP4 127.1 5.6.7.8 1 2\r\n", "IPv4")]
    [InlineData("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "IPv4")]
    [InlineData("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "IPv6")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "0-65535")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "0-65535")]
    [InlineData("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "signature")]
    public void V1_Malformed_RejectedWithTheReason(string text, string reason)
    {
        Assert.Equal(ProxyHeaderStatus.Invalid, ProxyHeaderParser.TryParse(Encoding.ASCII.GetBytes(text), out _, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void V1_NoLineEndWithin107Bytes_Rejected_ShorterIsIncomplete()
    {
        var text = "PROXY TCP4 " + new string('1', 200);
        Assert.Equal(ProxyHeaderStatus.Incomplete, ProxyHeaderParser.TryParse(Encoding.ASCII.GetBytes(text[..106]), out _, out _, out _));
        Assert.Equal(ProxyHeaderStatus.Invalid, ProxyHeaderParser.TryParse(Encoding.ASCII.GetBytes(text[..107]), out _, out _, out var error));
        Assert.Contains("107", error, StringComparison.Ordinal);
    }

    [Fact]
    public void V2_Tcp4AndTcp6_WithTlvs()
    {
        byte[] tcp4 = [.. Signature, 0x21, 0x11, 0x00, 0x11, 10, 0, 0, 1, 10, 0, 0, 2, 0x1F, 0x90, 0x01, 0xBB, 0x04, 0x00, 0x02, 0xAB, 0xCD];
        Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeaderParser.TryParse(tcp4, out var header, out var length, out _));
        Assert.Equal(tcp4.Length, length);
        Assert.Equal(IPEndPoint.Parse("10.0.0.1:8080"), header.Source);
        Assert.Equal(IPEndPoint.Parse("10.0.0.2:443"), header.Destination);

        var source = IPAddress.Parse("2001:db8::7").GetAddressBytes();
        var destination = IPAddress.Parse("2001:db8::8").GetAddressBytes();
        byte[] tcp6 = [.. Signature, 0x21, 0x21, 0x00, 36, .. source, .. destination, 0x00, 0x01, 0x00, 0x02];
        Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeaderParser.TryParse(tcp6, out header, out _, out _));
        Assert.Equal(IPEndPoint.Parse("[2001:db8::7]:1"), header.Source);
    }

    [Theory]
    [InlineData(0x20, 0x11, true)]
    [InlineData(0x21, 0x00, false)]
    [InlineData(0x21, 0x12, false)]
    [InlineData(0x21, 0x31, false)]
    public void V2_LocalAndUnforwardedFamilies_KeepTheConnectionsAddresses(byte command, byte family, bool local)
    {
        byte[] data = [.. Signature, command, family, 0x00, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2];
        if (family == 0x31)
        {
            data = [.. Signature, command, family, 0x00, 216, .. new byte[216]];
        }

        Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeaderParser.TryParse(data, out var header, out var length, out _));
        Assert.Equal(data.Length, length);
        Assert.Null(header.Source);
        Assert.Equal(local, header.IsLocal);
    }

    [Theory]
    [InlineData(0x31, 0x11, 12, "version must be 2")]
    [InlineData(0x22, 0x11, 12, "command")]
    [InlineData(0x21, 0x41, 12, "not defined")]
    [InlineData(0x21, 0x11, 8, "too short")]
    [InlineData(0x21, 0x21, 12, "too short")]
    [InlineData(0x21, 0x11, 60000, "longer than")]
    public void V2_Malformed_RejectedWithTheReason(byte command, byte family, int length, string reason)
    {
        byte[] data = [.. Signature, command, family, (byte)(length >> 8), (byte)length, .. new byte[Math.Min(length, 64)]];
        Assert.Equal(ProxyHeaderStatus.Invalid, ProxyHeaderParser.TryParse(data, out _, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryPrefixOfAValidHeader_IsIncomplete()
    {
        foreach (var version in new[] { ProxyProtocolVersion.V1, ProxyProtocolVersion.V2 })
        {
            var header = new byte[ProxyHeaderWriter.MaxLength];
            var length = ProxyHeaderWriter.Write(header, version, IPEndPoint.Parse("[2001:db8::1]:1234"), IPEndPoint.Parse("[2001:db8::2]:80"));
            for (var prefix = 0; prefix < length; prefix++)
            {
                Assert.Equal(ProxyHeaderStatus.Incomplete, ProxyHeaderParser.TryParse(header.AsSpan(0, prefix), out _, out _, out _));
            }

            Assert.Equal(ProxyHeaderStatus.Complete, ProxyHeaderParser.TryParse(header.AsSpan(0, length), out _, out var parsed, out _));
            Assert.Equal(length, parsed);
        }
    }

    private static readonly Gen<IPEndPoint> GenEndPoint = Gen.OneOf(
        Gen.Byte.Array[4].Select(b => new IPAddress(b)),
        Gen.Byte.Array[16].Select(b => new IPAddress(b))).Select(Gen.Int[0, 65535], (address, port) => new IPEndPoint(address, port));

    [Fact]
    public void Written_ParsesBackToTheSameAddresses()
    {
        Gen.Select(GenEndPoint, GenEndPoint, Gen.Bool).Sample((source, destination, v2) =>
        {
            var buffer = new byte[ProxyHeaderWriter.MaxLength];
            var length = ProxyHeaderWriter.Write(buffer, v2 ? ProxyProtocolVersion.V2 : ProxyProtocolVersion.V1, source, destination);
            var status = ProxyHeaderParser.TryParse(buffer.AsSpan(0, length), out var header, out var parsed, out var error);
            Assert.True(status == ProxyHeaderStatus.Complete, error);
            Assert.Equal(length, parsed);

            // Mixed families are written as IPv6 (IPv4 mapped), as the specification asks for one family.
            var mixed = source.AddressFamily != destination.AddressFamily;
            Assert.Equal(mixed ? source.Address.MapToIPv6() : source.Address, header.Source!.Address);
            Assert.Equal(mixed ? destination.Address.MapToIPv6() : destination.Address, header.Destination!.Address);
            Assert.Equal(source.Port, header.Source.Port);
            Assert.Equal(destination.Port, header.Destination.Port);
        }, iter: 2000);
    }

    [Fact]
    public void RandomBytes_NeverThrow_AndAnyLengthIsWithinTheInput()
    {
        Gen.Byte.Array[0, 600].Sample(bytes => CheckBounded(bytes), iter: 20_000);
    }

    [Fact]
    public void MutatedValidHeaders_NeverThrow_AndAnyLengthIsWithinTheInput()
    {
        var valid = new List<byte[]>();
        foreach (var version in new[] { ProxyProtocolVersion.V1, ProxyProtocolVersion.V2 })
        {
            foreach (var (source, destination) in new[] { ("10.0.0.1:1", "10.0.0.2:2"), ("[2001:db8::1]:65535", "[::1]:0") })
            {
                var buffer = new byte[ProxyHeaderWriter.MaxLength];
                var length = ProxyHeaderWriter.Write(buffer, version, IPEndPoint.Parse(source), IPEndPoint.Parse(destination));
                valid.Add(buffer[..length]);
            }
        }

        var mutation = Gen.Select(Gen.Int[0, valid.Count - 1], Gen.Int[0, 200], Gen.Byte, Gen.Int[0, 3], (which, at, value, kind) => (which, at, value, kind));
        mutation.Sample(m =>
        {
            var bytes = valid[m.which].ToList();
            var at = Math.Min(m.at, bytes.Count - 1);
            switch (m.kind)
            {
                case 0: bytes[at] = m.value; break;
                case 1: bytes.Insert(at, m.value); break;
                case 2: bytes.RemoveAt(at); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break;
            }

            CheckBounded([.. bytes]);
        }, iter: 20_000);
    }

    private static void CheckBounded(byte[] bytes)
    {
        var status = ProxyHeaderParser.TryParse(bytes, out var header, out var length, out var error);
        switch (status)
        {
            case ProxyHeaderStatus.Complete:
                Assert.InRange(length, 1, Math.Min(bytes.Length, ProxyHeaderParser.MaxLength));
                Assert.Null(error);
                Assert.Equal(header.Source is null, header.Destination is null);
                break;
            case ProxyHeaderStatus.Invalid:
                Assert.False(string.IsNullOrEmpty(error));
                break;
            default:
                Assert.True(bytes.Length < ProxyHeaderParser.MaxLength);
                break;
        }
    }
}
