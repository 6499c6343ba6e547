using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using FastProxy.Transport.Sockets;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Transport.Memory;

/// <summary>
/// One side of an in-memory connection. Each side has an input pipe (the application reads it) and an output
/// pipe (the application writes it); a send loop per side copies its output into the peer's input, which is
/// where the socket transport's send loop and the peer's receive loop would be. Keeping a loop in between
/// (instead of sharing one pipe) is what lets a side abort asynchronously and thread-safely, and gives both
/// directions the same two backpressure thresholds as a socket connection.
/// </summary>
internal sealed class MemoryConnection : TransportConnection
{
    private static readonly PipeOptions s_inputOptions =
        new(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);

    private static readonly PipeOptions s_outputOptions =
        new(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false);

    // What one iteration of the send loop moves, like one socket send.
    private const int MaxBytesPerCopy = 64 * 1024;

    private readonly Pipe _inputPipe = new(s_inputOptions);
    private readonly Pipe _outputPipe = new(s_outputOptions);

    // Never disposed: no timer, no wait handle (same reasoning as SocketConnection).
    private readonly CancellationTokenSource _connectionClosedSource = new();
    private readonly Lock _lock = new();

    private MemoryConnection _peer = null!;
    private Task _sendTask = Task.CompletedTask;

    // Set when this side aborts: its send loop resets the peer's input.
    private volatile ConnectionAbortedException? _abortReason;

    // Set when the peer aborts: this side's send loop stops and completes the peer's input with this.
    private volatile ConnectionAbortedException? _peerAbortReason;

    private bool _closed;

    // Our send loop + our receive side (the peer's send loop); closed when both are done.
    private int _runningDirections = 2;

    private MemoryConnection(EndPoint localEndPoint, EndPoint remoteEndPoint)
    {
        LocalEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
        ConnectionClosed = _connectionClosedSource.Token;
        Transport = new DuplexPipe(_inputPipe.Reader, _outputPipe.Writer);
    }

    public override MemoryPool<byte> MemoryPool => MemoryPool<byte>.Shared;

    public static (MemoryConnection Client, MemoryConnection Server) CreatePair(EndPoint clientEndPoint, EndPoint serverEndPoint)
    {
        var client = new MemoryConnection(clientEndPoint, serverEndPoint);
        var server = new MemoryConnection(serverEndPoint, clientEndPoint);
        client._peer = server;
        server._peer = client;
        client.Start();
        server.Start();
        return (client, server);
    }

    /// <summary>Resets the connection: the peer's Input faults with <see cref="ConnectionResetException"/>.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        lock (_lock)
        {
            if (_abortReason is not null)
            {
                return;
            }

            _abortReason = abortReason;
        }

        // Our send loop: stop and reset the peer's input (wherever it is waiting).
        _outputPipe.Reader.CancelPendingRead();
        _peer._inputPipe.Writer.CancelPendingFlush();

        // The peer's send loop: stop writing into our input and complete it with our abort reason; the peer's
        // flushes then report completion, as sends to a reset socket fail.
        _peer.OnPeerAborted(abortReason);

        Close();
    }

    /// <summary>Same contract as the socket transport: deliver, FIN, wait for the send loop, close.</summary>
    protected override async Task DisposeCoreAsync()
    {
        _inputPipe.Reader.Complete();
        _outputPipe.Writer.Complete();
        await _sendTask.ConfigureAwait(false);
        Close();
        CancelConnectionClosedToken();
    }

    private void Start()
    {
        AsyncFlowControl? flowControl = ExecutionContext.IsFlowSuppressed() ? null : ExecutionContext.SuppressFlow();
        try
        {
            _sendTask = SendLoopAsync();
        }
        finally
        {
            flowControl?.Undo();
        }
    }

    private void OnPeerAborted(ConnectionAbortedException peerReason)
    {
        _peerAbortReason = peerReason;
        _outputPipe.Reader.CancelPendingRead();
        _peer._inputPipe.Writer.CancelPendingFlush();
    }

    /// <summary>Our output to the peer's input.</summary>
    private async Task SendLoopAsync()
    {
        var reader = _outputPipe.Reader;
        var writer = _peer._inputPipe.Writer;

        // How the peer's Input ends: null is FIN.
        Exception? peerInputError = null;
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync();
                }
                catch (Exception ex)
                {
                    // Output completed with an exception: abort, which the peer sees as a reset.
                    Abort(new ConnectionAbortedException("The application completed the transport output with an error.", ex));
                    peerInputError = CreateResetException();
                    break;
                }

                if (result.IsCanceled)
                {
                    peerInputError = GetCancellationOutcome();
                    break;
                }

                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    // Move at most one "send" worth per flush, as a socket send would: copying a huge write in one
                    // go would let it bypass the peer's input limit.
                    var chunk = buffer.Length > MaxBytesPerCopy ? buffer.Slice(0, MaxBytesPerCopy) : buffer;
                    foreach (var segment in chunk)
                    {
                        writer.Write(segment.Span);
                    }

                    var consumedAll = chunk.Length == buffer.Length;
                    reader.AdvanceTo(chunk.End);

                    var flush = await writer.FlushAsync();
                    if (flush.IsCanceled)
                    {
                        peerInputError = GetCancellationOutcome();
                        break;
                    }

                    if (flush.IsCompleted)
                    {
                        // The peer stopped reading or closed: what we send goes nowhere, like a send to a closed socket.
                        break;
                    }

                    if (!consumedAll)
                    {
                        // The rest (and IsCompleted, if set) comes back with the next read.
                        continue;
                    }
                }
                else
                {
                    reader.AdvanceTo(buffer.End);
                }

                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        finally
        {
            writer.Complete(peerInputError);
            reader.Complete();
            _peer.OnDirectionEnded();
            OnDirectionEnded();
        }
    }

    private Exception? GetCancellationOutcome()
    {
        if (_abortReason is not null)
        {
            // We aborted: the peer sees a reset.
            return CreateResetException();
        }

        // The peer aborted: its own Input completes with its abort reason (a local abort).
        return _peerAbortReason;
    }

    private static ConnectionResetException CreateResetException() => new("The connection was reset by the peer.");

    private void OnDirectionEnded()
    {
        if (Interlocked.Decrement(ref _runningDirections) == 0)
        {
            Close();
        }
    }

    private void Close()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static connection => connection.CancelConnectionClosedToken(), this, preferLocal: false);
    }

    private void CancelConnectionClosedToken()
    {
        try
        {
            _connectionClosedSource.Cancel();
        }
        catch (AggregateException)
        {
            // A registration threw; there is nobody else to tell.
        }
    }
}
