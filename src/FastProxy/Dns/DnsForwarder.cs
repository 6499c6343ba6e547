using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace FastProxy.Dns;

/// <summary>
/// Relays a question outside the cluster zone to the upstream server and returns its answer as it
/// came. Each question gets its own socket (so its own source port, which a spoofed answer must
/// guess), a timeout, and a slot among a bounded number in flight.
/// </summary>
internal sealed class DnsForwarder : IDisposable
{
    private const int MaxStrayAnswers = 8;

    private readonly IPEndPoint _upstream;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _slots;

    public DnsForwarder(IPEndPoint upstream, TimeSpan timeout, int maxConcurrent, TimeProvider time)
    {
        _upstream = upstream;
        _timeout = timeout;
        _time = time;
        _slots = new SemaphoreSlim(maxConcurrent, maxConcurrent);
    }

    public IPEndPoint Upstream => _upstream;

    /// <summary>
    /// The upstream's answer to <paramref name="query"/> (raw bytes, ID as sent), or null when it gave
    /// none in time, too many questions are in flight, or it failed. Over UDP first; when
    /// <paramref name="tcp"/> is set and the UDP answer is truncated, again over TCP.
    /// </summary>
    public async Task<byte[]?> ForwardAsync(ReadOnlyMemory<byte> query, bool tcp, CancellationToken cancellationToken)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            return null;
        }

        try
        {
            using var timeout = new CancellationTokenSource(_timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            var answer = await OverUdpAsync(query, linked.Token).ConfigureAwait(false);
            if (tcp && answer is not null && (answer[2] & 0x02) != 0)
            {
                answer = await OverTcpAsync(query, linked.Token).ConfigureAwait(false);
            }

            return answer;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            return null;
        }
        finally
        {
            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();

    private async Task<byte[]?> OverUdpAsync(ReadOnlyMemory<byte> query, CancellationToken cancellationToken)
    {
        using var socket = new Socket(_upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(_upstream, cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(query, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(DnsLimits.MaxMessage);
        try
        {
            // A connected socket only sees the upstream's datagrams; still, take only the one answering ours.
            for (var i = 0; i < MaxStrayAnswers; i++)
            {
                var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (Answers(query.Span, buffer.AsSpan(0, received)))
                {
                    return buffer.AsSpan(0, received).ToArray();
                }
            }

            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<byte[]?> OverTcpAsync(ReadOnlyMemory<byte> query, CancellationToken cancellationToken)
    {
        using var socket = new Socket(_upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(_upstream, cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(DnsTcp.Frame(query.Span), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var prefix = new byte[2];
        if (!await DnsTcp.ReadExactlyAsync(socket, prefix, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var answer = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        return await DnsTcp.ReadExactlyAsync(socket, answer, cancellationToken).ConfigureAwait(false) && Answers(query.Span, answer) ? answer : null;
    }

    /// <summary>True when <paramref name="answer"/> is a response with the query's ID.</summary>
    private static bool Answers(ReadOnlySpan<byte> query, ReadOnlySpan<byte> answer)
        => answer.Length >= DnsLimits.HeaderLength && (answer[2] & 0x80) != 0 && answer[0] == query[0] && answer[1] == query[1];
}
