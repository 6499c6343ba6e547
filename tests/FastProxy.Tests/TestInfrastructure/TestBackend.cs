using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests;

/// <summary>
/// A real TCP backend "pod" on a loopback address: on each connection it first sends its name and a
/// newline, then echoes every byte back, and when the client half-closes it finishes echoing and
/// half-closes too. It counts what it saw.
/// </summary>
internal sealed class TestBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly byte[] _greeting;
    private int _accepted;
    private int _active;
    private int _disposed;

    private TestBackend(string name, Socket listener)
    {
        Name = name;
        _listener = listener;
        _greeting = Encoding.ASCII.GetBytes(name + "\n");
        _acceptLoop = AcceptLoop.RunAsync(listener, client =>
        {
            Interlocked.Increment(ref _accepted);
            _ = ServeAsync(client);
        }, _stop.Token);
    }

    public string Name { get; }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public int Accepted => Volatile.Read(ref _accepted);

    public int Active => Volatile.Read(ref _active);

    /// <summary>When set, accepted connections are reset at once instead of served.</summary>
    public bool ResetOnAccept { get; set; }

    public static TestBackend Start(string name, IPEndPoint endPoint)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(endPoint);
        listener.Listen(512);
        return new TestBackend(name, listener);
    }

    /// <summary>Starts <paramref name="count"/> backends named prefix-1..n on the same port of consecutive addresses.</summary>
    public static TestBackend[] StartMany(string namePrefix, string addressPrefix, int count)
    {
        var first = Start($"{namePrefix}-1", new IPEndPoint(IPAddress.Parse(addressPrefix + "1"), 0));
        var port = first.EndPoint.Port;
        return [first, .. Enumerable.Range(2, count - 1).Select(i => Start($"{namePrefix}-{i}", new IPEndPoint(IPAddress.Parse(addressPrefix + i), port)))];
    }

    /// <summary>
    /// Connections the kernel completed that the accept loop has not taken yet (Linux: a listening socket's
    /// <c>TCP_INFO.tcpi_unacked</c> is its accept queue length). Closing the listener resets them.
    /// </summary>
    public int AcceptQueueLength
    {
        get
        {
            Span<byte> info = stackalloc byte[104];
            try
            {
                _listener.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info);
            }
            catch (ObjectDisposedException)
            {
                return 0;   // closed: nothing can be queued any more
            }

            return BitConverter.ToInt32(info[24..28]);
        }
    }

    /// <summary>
    /// Stops like a pod that terminates gracefully: closes the listener (new connections are refused) and
    /// waits, up to <paramref name="grace"/>, for the connections it serves to end on their own. Returns
    /// how many were still open then (<see cref="DisposeAsync"/> cuts those). The listener closes only once
    /// its accept queue is empty (bounded by <paramref name="grace"/>): closing it would reset the connections
    /// queued in it, which the proxy already counts as connected.
    /// </summary>
    public async Task<int> StopAcceptingAsync(TimeSpan grace)
    {
        var queued = System.Diagnostics.Stopwatch.StartNew();
        while (Volatile.Read(ref _disposed) == 0 && OperatingSystem.IsLinux() && AcceptQueueLength > 0 && queued.Elapsed < grace)
        {
            await Task.Delay(1);
        }

        _listener.Dispose();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (Active > 0 && waited.Elapsed < grace)
        {
            await Task.Delay(10);
        }

        return Active;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task ServeAsync(Socket client)
    {
        Interlocked.Increment(ref _active);
        try
        {
            if (ResetOnAccept)
            {
                client.LingerState = new LingerOption(true, 0);
                return;
            }

            await client.SendAsync(_greeting, SocketFlags.None, _stop.Token);
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var read = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    client.Shutdown(SocketShutdown.Send);
                    // Wait for the peer to close before releasing the socket, so our FIN is not followed by a RST.
                    await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    return;
                }

                await client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
            Interlocked.Decrement(ref _active);
        }
    }
}
