using System.Diagnostics;
using System.Net.Sockets;
using FastProxy.Transport.Tests;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// The endless byte stream the reliability scenarios send: the test pattern (<see cref="TestIO.PatternByte"/>)
/// by absolute offset, so any chunk can be written or checked on its own and a lost, repeated or reordered
/// chunk anywhere in a long stream is caught. Both ends of a scenario (test client and fault backend) write
/// and read it with the loops here.
/// </summary>
internal static class StreamPattern
{
    private const int Chunk = 64 * 1024;

    /// <summary>Reads at most this much per call while throttled, so the rate is kept in small steps.</summary>
    private const int ThrottledChunk = 4 * 1024;

    public static void Fill(Span<byte> chunk, long offset, int seed)
    {
        for (var i = 0; i < chunk.Length; i++)
        {
            chunk[i] = TestIO.PatternByte(offset + i, seed);
        }
    }

    /// <summary>True when <paramref name="chunk"/> is the stream's bytes at <paramref name="offset"/>.</summary>
    public static bool Matches(ReadOnlySpan<byte> chunk, long offset, int seed)
    {
        for (var i = 0; i < chunk.Length; i++)
        {
            if (chunk[i] != TestIO.PatternByte(offset + i, seed))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Writes the stream from <paramref name="offset"/> while <paramref name="keepWriting"/> says so (or until
    /// <paramref name="limit"/> bytes), as fast as the socket takes it; <paramref name="written"/> hears of every
    /// chunk the kernel accepted. Returns the offset reached.
    /// </summary>
    public static async Task<long> WriteAsync(Socket socket, long offset, int seed, Func<bool> keepWriting, Action<int> written, CancellationToken stop, long limit = long.MaxValue)
    {
        var chunk = new byte[Chunk];
        while (offset < limit && keepWriting())
        {
            var size = (int)Math.Min(Chunk, limit - offset);
            Fill(chunk.AsSpan(0, size), offset, seed);
            var sent = 0;
            while (sent < size)
            {
                sent += await socket.SendAsync(chunk.AsMemory(sent, size - sent), SocketFlags.None, stop);
            }

            offset += size;
            written(size);
        }

        return offset;
    }

    /// <summary>
    /// Reads the stream to the peer's FIN, checking every byte; while <paramref name="throttled"/> says so, no faster
    /// than <paramref name="bytesPerSecond"/>. <paramref name="read"/> hears of every chunk. Returns the bytes read and
    /// whether all of them were the stream's.
    /// </summary>
    public static async Task<(long Bytes, bool Intact)> ReadToEndAsync(Socket socket, int seed, int bytesPerSecond, Func<bool> throttled, Action<int> read, CancellationToken stop)
    {
        var buffer = new byte[Chunk];
        var intact = true;
        long offset = 0;
        long throttledBytes = 0;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var slow = throttled();
            var count = await socket.ReceiveAsync(buffer.AsMemory(0, slow ? ThrottledChunk : Chunk), SocketFlags.None, stop);
            if (count == 0)
            {
                return (offset, intact);
            }

            intact &= Matches(buffer.AsSpan(0, count), offset, seed);
            offset += count;
            read(count);
            if (slow)
            {
                // Sleep until the bytes read so far are due at the rate: the reader is slow, the socket's window closes.
                throttledBytes += count;
                var due = TimeSpan.FromSeconds((double)throttledBytes / bytesPerSecond) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, stop);
                }
            }
        }
    }
}
