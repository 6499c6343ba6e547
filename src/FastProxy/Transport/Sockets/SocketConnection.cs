using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FastProxy.Buffers;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// A TCP connection over a <see cref="Socket"/> with two pipes: a receive loop fills <c>Transport.Input</c>
/// (<c>SocketConnection.Receive.cs</c>) and a send loop drains <c>Transport.Output</c>
/// (<c>SocketConnection.Send.cs</c>).
/// </summary>
/// <remarks>
/// <para>Unlike Kestrel's connection, the two directions are independent, which an L4 proxy needs:</para>
/// <list type="bullet">
/// <item>Peer FIN completes <c>Transport.Input</c> cleanly; sending continues.</item>
/// <item><c>Transport.Output.Complete()</c> flushes, then sends FIN with <c>Shutdown(Send)</c>; receiving
/// continues. <c>Complete(exception)</c> aborts (RST).</item>
/// <item>The socket is closed when both loops have ended, or on <see cref="Abort"/>, or in
/// <see cref="TransportConnection.DisposeAsync"/>. A reset seen by either loop closes it at once: nothing can flow any more.</item>
/// </list>
/// </remarks>
internal sealed partial class SocketConnection : TransportConnection, IConnectionSocketFeature
{
    private readonly Socket _socket;
    private EndPoint? _localEndPoint;
    private bool _localEndPointKnown;
    // Created on first use (see Receiver): a connection the epoll relay drives never receives through the runtime.
    private SocketReceiver? _receiver;
    private readonly SocketSenderPool _senderPool;
    private readonly ILogger _logger;
    private readonly int _minAllocBufferSize;
    private readonly bool _waitForData;

    private readonly SocketQueueSettings _settings;

    // Created when the pipes start (see EnsureStarted): a connection driven by the socket relay never needs them.
    private Pipe? _inputPipe;
    private Pipe? _outputPipe;

    // The transport's ends of the pipes: the receive loop writes Input, the send loop reads Output.
    private PipeWriter? _inputWriter;
    private PipeReader? _outputReader;

    // NotStarted until someone touches Transport (pipes) or the forwarder claims the socket (relay).
    private int _mode;

    // Created when someone first asks for ConnectionClosed: most connections (all the relay's) never do, and
    // closing them then queues nothing to the thread pool. Never disposed on purpose: it has no timer and no
    // wait handle, and disposing it would race with the queued callback that cancels it and with late readers.
    private CancellationTokenSource? _connectionClosedSource;

    private volatile bool _socketClosed;
    private volatile Exception? _closeReason;

    // Receive loop + send loop; the one that brings it to zero closes the socket.
    private int _runningLoops = 2;

    private Task _receiveTask = Task.CompletedTask;
    private Task _sendTask = Task.CompletedTask;

    public SocketConnection(Socket socket, SocketQueueSettings settings, bool waitForData, ILogger logger, EndPoint? remoteEndPoint = null)
    {
        Debug.Assert(socket is not null);
        _socket = socket;
        _logger = logger;
        _waitForData = waitForData;
        _senderPool = settings.SenderPool;
        MemoryPool = settings.MemoryPool;
        BulkMemoryPool = settings.BulkMemoryPool;

        // Ask for half a block per receive (Kestrel's rule): a fresh block when the current one is more than
        // half full, so receives never degenerate into tiny reads at the end of a block.
        _minAllocBufferSize = settings.MemoryPool.MaxBufferSize / 2;

        RemoteEndPoint = remoteEndPoint ?? socket.RemoteEndPoint;

        _settings = settings;

        SetSocketFeature(this);
    }

    private enum ConnectionMode
    {
        NotStarted,
        Pipes,
        Relay,
    }

    /// <summary>
    /// The application's pipes. The first access starts the receive and send loops; until then the socket is
    /// untouched, so the forwarder can claim it for the pipe-less relay instead (<see cref="TryClaimForRelay"/>).
    /// </summary>
    public override IDuplexPipe Transport
    {
        get
        {
            EnsureStarted();
            return base.Transport;
        }

        set
        {
            EnsureStarted();
            base.Transport = value;
        }
    }

    /// <summary>The receive operation of this connection, for the relay (only valid after <see cref="TryClaimForRelay"/>).</summary>
    internal SocketReceiver Receiver => _receiver ??= new SocketReceiver(_settings.SocketScheduler);

    /// <summary>The senders of this connection's I/O queue, for the relay.</summary>
    internal SocketSenderPool SenderPool => _senderPool;

    /// <summary>Big blocks for a relay direction that is moving bulk data (see <see cref="SocketQueueSettings.BulkMemoryPool"/>).</summary>
    internal PinnedBlockMemoryPool BulkMemoryPool { get; }

    /// <summary>
    /// Claims the socket for a caller that moves bytes itself (the forwarder's socket-to-socket relay): no
    /// pipes, no loops, one copy. Fails once <see cref="Transport"/> has been touched (middleware may be
    /// reading it). After a successful claim, <see cref="Transport"/> must not be used; Abort and DisposeAsync
    /// still work, and the caller must not dispose while it still has an operation pending on the socket.
    /// </summary>
    internal bool TryClaimForRelay() => Interlocked.CompareExchange(ref _mode, (int)ConnectionMode.Relay, (int)ConnectionMode.NotStarted) == (int)ConnectionMode.NotStarted;

    /// <summary>Gives back a claim nobody used yet, so the connection can start its pipes after all.</summary>
    internal void ReleaseRelayClaim() => Interlocked.CompareExchange(ref _mode, (int)ConnectionMode.NotStarted, (int)ConnectionMode.Relay);

    private void EnsureStarted()
    {
        if (Volatile.Read(ref _mode) == (int)ConnectionMode.Pipes)
        {
            return;
        }

        lock (StateLock)
        {
            if (_mode == (int)ConnectionMode.Relay)
            {
                throw new InvalidOperationException("The connection's socket is driven by the relay; its Transport is not available.");
            }

            if (_mode == (int)ConnectionMode.Pipes)
            {
                return;
            }

            _inputPipe = new Pipe(_settings.InputOptions);
            _outputPipe = new Pipe(_settings.OutputOptions);
            _inputWriter = _inputPipe.Writer;
            _outputReader = _outputPipe.Reader;
            base.Transport = new DuplexPipe(_inputPipe.Reader, _outputPipe.Writer);
            Volatile.Write(ref _mode, (int)ConnectionMode.Pipes);
            if (!_socketClosed)
            {
                Start();
            }
            else
            {
                // Closed before anyone looked: the application sees a completed connection.
                _inputWriter.Complete(_closeReason);
                _outputReader.Complete();
            }
        }
    }

    /// <summary>
    /// The local address, read from the socket when first asked for (a system call most connections never need:
    /// only a PROXY header or the application reads it).
    /// </summary>
    public override EndPoint? LocalEndPoint
    {
        get
        {
            if (!_localEndPointKnown)
            {
                _localEndPoint = ReadLocalEndPoint(_socket);
                _localEndPointKnown = true;
            }

            return _localEndPoint;
        }

        set
        {
            _localEndPoint = value;
            _localEndPointKnown = true;
        }
    }

    /// <summary>Cancelled (on the thread pool) when the socket closes; already cancelled when asked for after that.</summary>
    public override CancellationToken ConnectionClosed
    {
        get
        {
            lock (StateLock)
            {
                if (_connectionClosedSource is null)
                {
                    if (_socketClosed)
                    {
                        return new CancellationToken(canceled: true);
                    }

                    _connectionClosedSource = new CancellationTokenSource();
                }

                return _connectionClosedSource.Token;
            }
        }

        set => throw new NotSupportedException("A socket connection's ConnectionClosed token cannot be replaced.");
    }

    /// <summary>
    /// The epoll loop that connected this socket and still holds it, disarmed (Linux): a relay on that loop re-arms
    /// the registration instead of adding one. Null for accepted sockets and those the runtime connected.
    /// </summary>
    internal Epoll.EpollLoop? WatchedBy { get; set; }

    /// <summary>Whether the socket has been closed or aborted (by anyone): an error seen on it afterwards is ours, not the peer's.</summary>
    internal bool IsClosed => _socketClosed;

    /// <summary>The raw socket (<see cref="IConnectionSocketFeature"/>), for fast paths such as splice(2).</summary>
    public Socket Socket => _socket;

    public override MemoryPool<byte> MemoryPool { get; }

    /// <summary>Starts the receive and send loops (from <see cref="EnsureStarted"/>, under the state lock).</summary>
    private void Start()
    {
        // The loops live as long as the connection. Do not let them capture the caller's ExecutionContext
        // (AsyncLocals of whoever accepted or connected): async methods capture nothing while flow is suppressed.
        AsyncFlowControl? flowControl = ExecutionContext.IsFlowSuppressed() ? null : ExecutionContext.SuppressFlow();
        try
        {
            _receiveTask = DoReceiveAsync();
            _sendTask = DoSendAsync();
        }
        finally
        {
            flowControl?.Undo();
        }
    }

    /// <summary>
    /// Closes the connection at once with a TCP reset. An L4 proxy must propagate a reset as a reset: when
    /// one side of a forwarded connection is reset (or the application gives up on it), sending FIN to the
    /// other side would tell it that the stream ended normally and the data was complete. So this sets
    /// SO_LINGER to (on, 0) before closing, which makes the kernel send RST and drop unsent data.
    /// <c>Transport.Input</c> then completes with <paramref name="abortReason"/>; flushes to
    /// <c>Transport.Output</c> report completion.
    /// </summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (Close(abortReason, abortive: true) && _logger.IsEnabled(LogLevel.Debug))
        {
            SocketsLog.ConnectionAborted(_logger, ConnectionId, abortReason.Message);
        }
    }

    /// <summary>
    /// Orderly shutdown, idempotent:
    /// 1. completes the application's ends of both pipes;
    /// 2. waits for the send loop to put everything already written into the kernel and send FIN;
    /// 3. closes the socket (a FIN, not a reset, since the send side was shut down first), which also ends a
    ///    receive loop still waiting for data;
    /// 4. waits for the receive loop; the pipes then return their blocks to the pool.
    /// Step 2 has no timeout of its own: if the peer stops reading, the send loop waits for it (that is
    /// backpressure). Callers bound it by calling <see cref="Abort"/> (for example from a drain timeout); an
    /// abort during a pending dispose makes the dispose complete promptly.
    /// </summary>
    protected override async Task DisposeCoreAsync()
    {
        if (Volatile.Read(ref _mode) != (int)ConnectionMode.Pipes)
        {
            // Never started, or driven by the relay (which has finished by now): no loop to wait for.
            Close(new ConnectionAbortedException("The connection was disposed."), abortive: false);
            _receiver?.Dispose();
            CancelConnectionClosedToken();
            return;
        }

        // Ours, not Transport's: middleware may have replaced Transport, but these are the pipes whose
        // completion stops the loops and releases pool memory.
        _inputPipe!.Reader.Complete();
        _outputPipe!.Writer.Complete();

        await _sendTask.ConfigureAwait(false);

        // A fresh instance: exceptions get their stack trace written when thrown, so sharing one across
        // connections (and threads) would garble it.
        Close(new ConnectionAbortedException("The connection was disposed."), abortive: false);

        await _receiveTask.ConfigureAwait(false);

        // Close queued the ConnectionClosed callbacks; make sure they have run when DisposeAsync returns.
        CancelConnectionClosedToken();
    }

    /// <summary>Called at the very end of each loop.</summary>
    private void OnLoopEnded()
    {
        if (Interlocked.Decrement(ref _runningLoops) == 0)
        {
            // Both directions finished (FIN both ways, or the application stopped reading): orderly close.
            Close(reason: null, abortive: false);

            // No operation can be pending on it any more.
            _receiver?.Dispose();
        }
    }

    /// <summary>
    /// Closes the socket once. <paramref name="reason"/> is what <c>Transport.Input</c> completes with if the
    /// receive loop is still running. Returns false when the socket was already closed.
    /// </summary>
    private bool Close(Exception? reason, bool abortive)
    {
        CancellationTokenSource? closedSource;
        lock (StateLock)
        {
            if (_socketClosed)
            {
                return false;
            }

            // Publish the reason before the socket goes away: the loops read it when their pending operation
            // fails because of this close.
            if (reason is not null)
            {
                _closeReason = reason;
            }

            _socketClosed = true;
            closedSource = _connectionClosedSource;
        }

        if (abortive)
        {
            try
            {
                // SO_LINGER on with a zero timeout: close() sends RST and discards unsent data.
                _socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
                // The peer may have reset already; the close below still releases the socket.
            }
            catch (ObjectDisposedException)
            {
            }
        }

        // Pending receives and sends complete with OperationAborted. (.NET also switches to an abortive close
        // by itself when it has to cancel pending operations, unless Shutdown(Send) was called first; the
        // dispose path always sends FIN before closing, so its close stays orderly.)
        _socket.Dispose();

        // Wake loops that wait on a pipe rather than on the socket: the send loop waiting for application data,
        // the receive loop paused by backpressure. Both are harmless on a loop that has already finished.
        _outputReader?.CancelPendingRead();
        _inputWriter?.CancelPendingFlush();

        // Token callbacks run user code; never run them on our stack (we may hold the caller's thread in Abort
        // or be inside an I/O completion).
        if (closedSource is not null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static connection => connection.CancelConnectionClosedToken(), this, preferLocal: false);
        }

        return true;
    }

    private static EndPoint? ReadLocalEndPoint(Socket socket)
    {
        try
        {
            // A socket connected by the epoll loop (not by the runtime) has no endpoints in the runtime's eyes.
            return socket.LocalEndPoint ?? (OperatingSystem.IsLinux() ? Epoll.LinuxEpoll.LocalEndPoint(socket) : null);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return null;
        }
    }

    private void CancelConnectionClosedToken()
    {
        try
        {
            Volatile.Read(ref _connectionClosedSource)?.Cancel();
        }
        catch (Exception ex)
        {
            // A registration threw; nothing else to notify.
            SocketsLog.ConnectionUnexpectedError(_logger, ConnectionId, ex);
        }
    }
}
