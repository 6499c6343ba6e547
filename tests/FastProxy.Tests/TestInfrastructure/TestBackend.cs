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
