using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace FastProxy.Dns.Tests;

/// <summary>A raw UDP/TCP client for the tests that send what dig never would, with bounded waits.</summary>
internal static class DnsClient
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Sends a query over UDP and returns the response with its ID (other datagrams are skipped). Like
    /// any DNS client it asks again when no answer comes: after a flood the server's socket buffer may
    /// have had no room for the query.
    /// </summary>
    public static async Task<byte[]> UdpAsync(IPEndPoint server, byte[] query)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        var buffer = new byte[65535];
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await socket.SendAsync(query);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                for (var i = 0; i < 100; i++)
                {
                    var received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                    if (received >= 2 && buffer[0] == query[0] && buffer[1] == query[1])
                    {
                        return buffer[..received];
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Lost: ask again.
            }
        }

        throw new TimeoutException("No response with the query's ID after 5 attempts.");
    }

    public static async Task<Socket> ConnectTcpAsync(IPEndPoint server)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server).WaitAsync(Wait);
        return socket;
    }

    /// <summary>Reads one length-prefixed message; null when the server closed the connection first (a close with our bytes unread is a reset).</summary>
    public static async Task<byte[]?> ReadTcpAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var prefix = new byte[2];
        try
        {
            if (!await DnsTcp.ReadExactlyAsync(socket, prefix, timeout.Token))
            {
                return null;
            }

            var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
            return await DnsTcp.ReadExactlyAsync(socket, message, timeout.Token) ? message : null;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return null;
        }
    }

    /// <summary>True once the server closed the connection (a read returns 0 or the connection is reset).</summary>
    public static async Task<bool> ClosedByServerAsync(Socket socket, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            return await socket.ReceiveAsync(new byte[1], SocketFlags.None, timeout.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
