using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Threading.Tasks.Sources;

namespace FastProxy.Transport.Epoll;

/// <summary>
/// An outgoing connect waited for by an <see cref="EpollLoop"/> instead of the runtime's socket engine. The
/// runtime registers a socket with its own epoll for good at its first asynchronous operation; a socket the
/// relay then drives would wake both the runtime's thread and the loop for every message it receives. Connected
/// here, the socket stays unknown to the runtime's engine until something asks it for an asynchronous operation
/// (a connection that ends up on the pipes path instead of the relay still works).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class EpollConnect : EpollHandler, IValueTaskSource<SocketError>
{
    private static readonly Action<object?> s_cancel = static state => ((EpollConnect)state!).Cancel();

    private readonly Socket _socket;
    private readonly EpollLoop _loop;
    private readonly int _fd;
    private ManualResetValueTaskSourceCore<SocketError> _completion;
    private volatile bool _cancelled;
    private volatile bool _done;
    private bool _watched;

    private EpollConnect(Socket socket, int fd)
    {
        _socket = socket;
        _fd = fd;
        _loop = EpollLoop.Next();
    }

    /// <summary>
    /// Connects <paramref name="socket"/> (made non-blocking) to <paramref name="endPoint"/>. Cancelling abandons the
    /// attempt, which then reports <see cref="SocketError.OperationAborted"/>. <c>Loop</c> is the loop whose epoll
    /// still holds the socket (disarmed: one-shot), for a relay to re-arm rather than add; null when the connect
    /// finished at once.
    /// </summary>
    public static async ValueTask<(SocketError Error, EpollLoop? Loop)> ConnectAsync(Socket socket, IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var address = endPoint.Serialize();
        var handle = socket.SafeHandle;
        var referenced = false;
        handle.DangerousAddRef(ref referenced);
        var fd = (int)handle.DangerousGetHandle();

        // One ioctl rather than Socket.Blocking's two fcntl calls. The runtime does not learn of it; were it ever to
        // run an operation on this socket, it makes the socket non-blocking again itself.
        var error = LinuxEpoll.SetNonBlocking(fd);
        if (error == 0)
        {
            error = LinuxEpoll.Connect(fd, address.Buffer.Span[..address.Size]);
        }

        if (error != LinuxEpoll.InProgress)
        {
            // Loopback often connects at once; a refusal can also be immediate.
            handle.DangerousRelease();
            return (error == 0 ? SocketError.Success : LinuxEpoll.ToSocketError(error), null);
        }

        // The reference is kept until the loop has seen the outcome: the descriptor cannot be closed (and its number reused) under it.
        var connect = new EpollConnect(socket, fd);
        connect._loop.Post(connect);
        using (cancellationToken.UnsafeRegister(s_cancel, connect))
        {
            var result = await new ValueTask<SocketError>(connect, connect._completion.Version).ConfigureAwait(false);
            return (result, connect._watched ? connect._loop : null);
        }
    }

    /// <inheritdoc/>
    internal override void Start()
    {
        // One-shot: after its one event the socket stays in the set but reports nothing until a relay re-arms it
        // (a modify instead of a delete and an add), or its close removes it.
        var error = _loop.Watch(this, _fd, tag: false, LinuxEpoll.Out | LinuxEpoll.OneShot);
        if (error != 0)
        {
            Complete(LinuxEpoll.ToSocketError(error));
            return;
        }

        _watched = true;
    }

    /// <inheritdoc/>
    internal override void OnEvents(bool tag, uint events)
    {
        // Writable alone means connected (as HAProxy reads it); with an error or hang-up, SO_ERROR says which.
        var error = 0;
        if ((events & (LinuxEpoll.Error | LinuxEpoll.HangUp)) != 0)
        {
            error = LinuxEpoll.PendingError(_fd) is var pending and not 0 ? pending : LinuxEpoll.NotConnected;
        }

        Complete(_cancelled ? SocketError.OperationAborted : error == 0 ? SocketError.Success : LinuxEpoll.ToSocketError(error));
    }

    private void Complete(SocketError result)
    {
        _loop.Release(this);
        _done = true;
        _socket.SafeHandle.DangerousRelease();

        // The caller's continuation runs here, on the loop, as the runtime's engine runs it on its own thread:
        // it only wraps the socket into a connection and hands it to a relay.
        _completion.SetResult(result);
    }

    private void Cancel()
    {
        _cancelled = true;
        if (!_done)
        {
            // The registration is disposed before the caller can close the socket, so the descriptor is still ours.
            LinuxEpoll.Abandon(_fd);
        }
    }

    SocketError IValueTaskSource<SocketError>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<SocketError>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<SocketError>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _completion.OnCompleted(continuation, state, token, flags);
}
