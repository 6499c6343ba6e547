using System.Buffers.Binary;
using System.Net.Sockets;

namespace FastProxy.Dns;

/// <summary>DNS over TCP's framing (RFC 1035 4.2.2): a two-byte length before each message.</summary>
internal static class DnsTcp
{
    /// <summary>Fills <paramref name="buffer"/>; false when the peer closed first.</summary>
    public static async ValueTask<bool> ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var received = await socket.ReceiveAsync(buffer[read..], SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (received == 0)
            {
                return false;
            }

            read += received;
        }

        return true;
    }

    /// <summary>The message with its length prefix, ready for one send.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message)
    {
        var framed = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed.AsSpan(2));
        return framed;
    }
}
