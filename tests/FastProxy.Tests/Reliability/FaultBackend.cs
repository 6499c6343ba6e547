using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// A backend pod on a loopback address that misbehaves on purpose: every accepted connection runs one
/// <see cref="Behaviour"/> (mute, reset mid-stream, half-close, slow reader, fast writer). It counts what it
/// accepted, read and wrote, whether what it read was intact, and when each connection ended (its socket
/// closed), so a test can tell how soon the proxy let go of a connection that broke.
/// </summary>
internal sealed class FaultBackend : IAsyncDisposable
{
    private const int IpProtoTcp = 6;
    private const int TcpInfoOption = 11;
    private const byte TcpEstablished = 1;
    private const byte TcpClose = 7;

    private readonly Socket _listener;
    private readonly Behaviour _behaviour;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _served = [];
    private readonly Task _acceptLoop;
    private int _accepted;
    private int _ended;
    private int _corrupt;
    private long _bytesRead;
    private long _bytesWritten;
    private long _lastEnded;
    private volatile bool _throttled = true;
    private volatile bool _writing = true;

    private FaultBackend(Socket listener, Behaviour behaviour)
    {
        _listener = listener;
        _behaviour = behaviour;
        _acceptLoop = AcceptLoop.RunAsync(listener, OnAccepted, _stop.Token);
    }

    /// <summary>What the backend does with one accepted connection; the backend closes the socket after it.</summary>
    public delegate Task Behaviour(Socket connection, FaultBackend backend, CancellationToken stop);

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Connections whose socket this backend has closed.</summary>
    public int Ended => Volatile.Read(ref _ended);

    /// <summary>Connections on which a byte read was not the stream's (lost, repeated or reordered data).</summary>
    public int Corrupt => Volatile.Read(ref _corrupt);

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>A slow reader keeps to its rate while true; false lets it drain at full speed.</summary>
    public bool Throttled
    {
        get => _throttled;
        set => _throttled = value;
    }

    /// <summary>A fast writer writes while true; once false it finishes its chunk and half-closes.</summary>
    public bool Writing
    {
        get => _writing;
        set => _writing = value;
    }

    /// <summary>Accepts, then neither reads nor writes until the peer goes (its FIN or RST, seen in the TCP state without reading).</summary>
    public static Behaviour Mute { get; } = static async (socket, _, stop) =>
    {
        while (TcpState(socket) == TcpEstablished)
        {
            await Task.Delay(50, stop);
        }
    };

    /// <summary>
    /// Sends <paramref name="before"/> bytes of the stream, waits for one byte from the client (so the stream has
    /// started both ways), then writes on and resets (SO_LINGER 0) with data still on its way.
    /// </summary>
    public static Behaviour ResetMidStream(int before, int seed) => async (socket, backend, stop) =>
    {
        var offset = await backend.WriteAsync(socket, 0, seed, stop, limit: before);
        var go = new byte[1];
        if (await socket.ReceiveAsync(go, SocketFlags.None, stop) == 1)
        {
            await backend.WriteAsync(socket, offset, seed, stop, limit: offset + (64 * 1024));
            socket.LingerState = new LingerOption(true, 0);
        }
    };

    /// <summary>
    /// Answers <paramref name="answer"/> bytes of stream <paramref name="answerSeed"/>, half-closes (FIN), and keeps
    /// reading stream <paramref name="requestSeed"/> to the client's FIN, checking every byte; then closes.
    /// </summary>
    public static Behaviour HalfCloseAfterAnswer(int answer, int answerSeed, int requestSeed) => async (socket, backend, stop) =>
    {
        await backend.WriteAsync(socket, 0, answerSeed, stop, limit: answer);
        socket.Shutdown(SocketShutdown.Send);
        await backend.ReadToEndAsync(socket, requestSeed, bytesPerSecond: int.MaxValue, stop);
    };

    /// <summary>Reads the stream at <paramref name="bytesPerSecond"/> while <see cref="Throttled"/>, checking every byte, to the client's FIN; then half-closes.</summary>
    public static Behaviour SlowReader(int bytesPerSecond, int seed) => async (socket, backend, stop) =>
    {
        await backend.ReadToEndAsync(socket, seed, bytesPerSecond, stop);
        socket.Shutdown(SocketShutdown.Send);
    };

    /// <summary>Writes the stream as fast as the connection takes it while <see cref="Writing"/>, then half-closes and reads to the client's FIN.</summary>
    public static Behaviour FastWriter(int seed) => async (socket, backend, stop) =>
    {
        await backend.WriteAsync(socket, 0, seed, stop);
        socket.Shutdown(SocketShutdown.Send);
        while (await socket.ReceiveAsync(new byte[4096], SocketFlags.None, stop) > 0)
        {
        }
    };

    /// <summary>
    /// Starts <paramref name="count"/> backends on the same port of <paramref name="addressPrefix"/>1..n. Buffer sizes
    /// other than 0 are set on the listener, so every accepted socket has them (and autotuning leaves them alone).
    /// </summary>
    public static FaultBackend[] StartMany(string addressPrefix, int count, Behaviour behaviour, int receiveBuffer = 0, int sendBuffer = 0)
    {
        var backends = new FaultBackend[count];
        var port = 0;
        for (var i = 0; i < count; i++)
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            if (receiveBuffer > 0)
            {
                listener.ReceiveBufferSize = receiveBuffer;
            }

            if (sendBuffer > 0)
            {
                listener.SendBufferSize = sendBuffer;
            }

            listener.Bind(new IPEndPoint(IPAddress.Parse(addressPrefix + (i + 1)), port));
            listener.Listen(512);
            backends[i] = new FaultBackend(listener, behaviour);
            port = backends[i].EndPoint.Port;
        }

        return backends;
    }

    /// <summary>The kernel's TCP state of <paramref name="socket"/> (TCP_INFO), without reading from it; closed once disposed.</summary>
    public static byte TcpState(Socket socket)
    {
        Span<byte> info = stackalloc byte[8];
        try
        {
            socket.GetRawSocketOption(IpProtoTcp, TcpInfoOption, info);
            return info[0];
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return TcpClose;
        }
    }

    /// <summary>
    /// Waits until <paramref name="count"/> connections have ended, at most <paramref name="bound"/> (then fails: a
    /// connection the proxy should have closed is hanging); returns the <see cref="Stopwatch"/> timestamp of the last end.
    /// </summary>
    public async Task<long> WaitForEndedAsync(int count, TimeSpan bound)
    {
        var clock = Stopwatch.StartNew();
        while (Ended < count)
        {
            Assert.True(clock.Elapsed < bound, $"{EndPoint}: {Ended} of {count} connection(s) ended after {bound.TotalSeconds:0.#} s; the rest still hang.");
            await Task.Delay(5);
        }

        return Interlocked.Read(ref _lastEnded);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Dispose();
        Task[] served;
        lock (_served)
        {
            served = [_acceptLoop, .. _served];
        }

        await Task.WhenAll(served).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private Task<long> WriteAsync(Socket socket, long offset, int seed, CancellationToken stop, long limit = long.MaxValue)
        => StreamPattern.WriteAsync(socket, offset, seed, () => _writing, n => Interlocked.Add(ref _bytesWritten, n), stop, limit);

    private async Task ReadToEndAsync(Socket socket, int seed, int bytesPerSecond, CancellationToken stop)
    {
        var (_, intact) = await StreamPattern.ReadToEndAsync(socket, seed, bytesPerSecond, () => _throttled, n => Interlocked.Add(ref _bytesRead, n), stop);
        if (!intact)
        {
            Interlocked.Increment(ref _corrupt);
        }
    }

    private void OnAccepted(Socket connection)
    {
        Interlocked.Increment(ref _accepted);
        var served = ServeAsync(connection);
        lock (_served)
        {
            _served.Add(served);
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        try
        {
            await _behaviour(connection, this, _stop.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The peer reset or the test is over: the connection ends here either way.
        }
        finally
        {
            connection.Dispose();
            Interlocked.Exchange(ref _lastEnded, Stopwatch.GetTimestamp());
            Interlocked.Increment(ref _ended);
        }
    }
}
