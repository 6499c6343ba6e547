using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastProxy.Tests;
using FastProxy.Transport.Sockets;
using Xunit;

namespace FastProxy.Transport.Tests;

/// <summary>
/// Outgoing connects of <see cref="SocketConnectionFactory"/>, both ways it can wait for them: through the epoll
/// loops (the default on Linux x86-64, where the runtime never learns the socket's endpoints) and through the
/// runtime's socket engine.
/// </summary>
public sealed class SocketConnectTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Connect_KnowsBothEndpoints_AndThePipesWork(bool throughEpoll)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Parse("127.0.77.1"), 0));
        listener.Listen();
        var accept = listener.AcceptAsync();

        var factory = new SocketConnectionFactory(new SocketTransportOptions { ConnectThroughEpoll = throughEpoll });
        await using var client = await factory.ConnectAsync(listener.LocalEndPoint!).AsTask().WaitAsync(TestIO.Timeout);
        using var server = await accept.WaitAsync(TestIO.Timeout);

        Assert.Equal(listener.LocalEndPoint, client.RemoteEndPoint);
        Assert.Equal(server.RemoteEndPoint, client.LocalEndPoint);

        // A socket the runtime did not connect still runs the pipes (the runtime registers it at the first receive).
        await client.Transport.Output.WriteAsync(TestIO.Pattern(64 * 1024, seed: 3)).AsTask().WaitAsync(TestIO.Timeout);
        await client.Transport.Output.CompleteAsync();
        Assert.Equal(TestIO.Pattern(64 * 1024, seed: 3), await TestIO.ReceiveToEndAsync(server).WaitAsync(TestIO.Timeout));
        await TestIO.SendAllAsync(server, TestIO.Pattern(1000, seed: 4));
        server.Shutdown(SocketShutdown.Send);
        Assert.Equal(1000, await TestIO.ReadPatternToEndAsync(client.Transport.Input, seed: 4).WaitAsync(TestIO.Timeout));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Connect_ThatHangs_EndsWhenCancelled(bool throughEpoll)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse("127.0.77.2"), 18081);
        using var blackhole = new BlackholeEndpoint(endPoint);
        var factory = new SocketConnectionFactory(new SocketTransportOptions { ConnectThroughEpoll = throughEpoll });
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var started = Stopwatch.GetTimestamp();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => factory.ConnectAsync(endPoint, timeout.Token).AsTask().WaitAsync(TestIO.Timeout));
        Assert.InRange(Stopwatch.GetElapsedTime(started), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Connect_Refused_ThrowsConnectionRefused(bool throughEpoll)
    {
        // A bound but not listening socket holds the port, so nobody else can listen on it during the test.
        using var placeholder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        placeholder.Bind(new IPEndPoint(IPAddress.Parse("127.0.77.3"), 0));

        var factory = new SocketConnectionFactory(new SocketTransportOptions { ConnectThroughEpoll = throughEpoll });
        var error = await Assert.ThrowsAsync<SocketException>(() => factory.ConnectAsync(placeholder.LocalEndPoint!).AsTask().WaitAsync(TestIO.Timeout));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }
}
