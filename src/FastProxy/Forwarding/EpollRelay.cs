using System.Runtime.Versioning;
using System.Threading.Tasks.Sources;
using FastProxy.Buffers;
using FastProxy.Connections;
using FastProxy.Transport.Epoll;
using FastProxy.Transport.Sockets;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Forwarding;

/// <summary>
/// The relay on Linux: both sockets of a forwarded connection are driven by an <see cref="EpollLoop"/> thread
/// instead of the runtime's socket engine. Per message that is one <c>recv</c> into the loop's buffer and one
/// <c>send</c>, as HAProxy does; an idle connection holds no buffer and no pending operation, only this object.
/// Data a slow receiver cannot take yet waits in a pooled block (or the splice pipe) while its sender is not
/// read: backpressure is the kernel's, at most one block or pipe per direction is held. Bulk directions move
/// to <c>splice(2)</c> like <see cref="SocketRelay"/>. FIN is passed on as FIN, a reset as a reset.
/// </summary>
/// <remarks>
/// Both descriptors are referenced (<see cref="System.Runtime.InteropServices.SafeHandle.DangerousAddRef"/>)
/// while the loop watches them, so an abort from another thread cannot close them under the loop: .NET then
/// disconnects the socket (a reset, which the loop sees as an error event) and waits for the loop to let go.
/// </remarks>
[SupportedOSPlatform("linux")]
internal sealed class EpollRelay : EpollHandler, IValueTaskSource<RelayResult>
{
    // Reads in a row before a busy direction lets the loop's other sockets have their turn (then it resumes after
    // the current batch of events, see EpollLoop.Resume): 16 x 64 KiB, or 16 splices of up to 256 KiB.
    private const int MaxReadsPerTurn = 16;

    // The forwarder's continuation (closing both connections, then the application's middleware after it) runs on
    // the loop only where the process opted into running socket continuations on the runtime's I/O thread, the same
    // promise: nothing after the forwarder blocks. Otherwise it goes to the thread pool. (The sidecar opts in.)
    private static readonly bool s_inlineContinuations = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1";

    private readonly SocketConnection _client;
    private readonly SocketConnection _upstream;
    private readonly ForwardedConnection _connection;
    private readonly EpollLoop _loop;
    private readonly bool _splice;
    private Direction _toEndpoint;
    private Direction _fromEndpoint;
    private ManualResetValueTaskSourceCore<RelayResult> _completion;
    private int _clientFd = -1;
    private int _upstreamFd = -1;
    private bool _clientReferenced;
    private bool _upstreamReferenced;
    private bool _finished;

    private EpollRelay(SocketConnection client, SocketConnection upstream, ForwardedConnection connection, bool splice)
    {
        _client = client;
        _upstream = upstream;
        _connection = connection;
        _splice = splice;
        // The loop that connected the upstream socket still holds it: the relay stays there and re-arms it.
        _loop = upstream.WatchedBy ?? EpollLoop.Next();
        _toEndpoint = new Direction(toEndpoint: true, upstream.BulkMemoryPool);
        _fromEndpoint = new Direction(toEndpoint: false, client.BulkMemoryPool);

        _completion.RunContinuationsAsynchronously = !s_inlineContinuations;
    }

    /// <summary>Whether this machine can run the relay (Linux on x86-64).</summary>
    public static bool IsSupported => EpollLoop.IsSupported;

    /// <summary>Relays both directions until both have ended; the result says why each ended.</summary>
    public static ValueTask<RelayResult> RunAsync(SocketConnection client, SocketConnection upstream, ForwardedConnection connection, bool splice)
    {
        var relay = new EpollRelay(client, upstream, connection, splice);
        if (!relay.TryReference())
        {
            // One side was closed before the relay could start (an abort from a drain, the idle scan or shutdown).
            relay.Release();
            client.Abort(new ConnectionAbortedException("The proxied connection was closed before forwarding started."));
            upstream.Abort(new ConnectionAbortedException("The proxied connection was closed before forwarding started."));
            return new ValueTask<RelayResult>(new RelayResult(CloseReason.Aborted, CloseReason.Aborted));
        }

        relay._loop.Post(relay);
        return new ValueTask<RelayResult>(relay, relay._completion.Version);
    }

    /// <summary>On the loop thread, once the relay has its slot: starts watching both sockets for data.</summary>
    internal override void Start()
    {
        // Edge-triggered, for good: each socket is registered once and never modified. A direction reads until the
        // kernel has nothing more (a short read, EAGAIN, or a block waiting for its receiver) and an edge comes with
        // the next data; a receiver with no room reports an edge when room is made.
        const uint Events = LinuxEpoll.In | LinuxEpoll.ReadHangUp | LinuxEpoll.Out | LinuxEpoll.EdgeTriggered;
        var upstreamWatched = ReferenceEquals(_upstream.WatchedBy, _loop);
        if (_loop.Watch(this, _clientFd, tag: true, Events) != 0
            || (upstreamWatched ? _loop.Rewatch(this, _upstreamFd, tag: false, Events) : _loop.Watch(this, _upstreamFd, tag: false, Events)) != 0)
        {
            Fail();
        }
    }

    /// <summary>On the loop thread: what epoll reported for one of the two sockets (tagged true for the client's).</summary>
    internal override void OnEvents(bool tag, uint events)
    {
        var clientSide = tag;
        // The direction this socket feeds, and the one that feeds it.
        ref var reading = ref clientSide ? ref _toEndpoint : ref _fromEndpoint;
        ref var writing = ref clientSide ? ref _fromEndpoint : ref _toEndpoint;
        var handled = false;
        try
        {
            if (writing.HasPending && (events & (LinuxEpoll.Out | LinuxEpoll.Error | LinuxEpoll.HangUp)) != 0)
            {
                handled = true;
                if (!Flush(ref writing))
                {
                    return;
                }
            }

            if (reading.WantsRead && (events & (LinuxEpoll.In | LinuxEpoll.ReadHangUp | LinuxEpoll.Error | LinuxEpoll.HangUp)) != 0)
            {
                handled = true;

                // Once the peer's FIN is in, a short read no longer means "nothing more": the FIN itself is still to be
                // read, and it will bring no further edge.
                if (!Pump(ref reading, untilEmpty: (events & (LinuxEpoll.ReadHangUp | LinuxEpoll.HangUp | LinuxEpoll.Error)) != 0))
                {
                    return;
                }
            }

            if (!handled && (events & (LinuxEpoll.Error | LinuxEpoll.HangUp)) != 0)
            {
                // Nothing of ours waits on this socket, yet it reported something. A hang-up alone
                // (its peer's FIN after ours) is for the directions to find when they next use it. An error means its
                // peer reset it, or it was aborted here (drain, idle scan, shutdown): that ends the connection, and
                // must, since an abort waits for this loop to let go of the socket.
                var failed = clientSide ? _client : _upstream;
                var error = LinuxEpoll.PendingError(clientSide ? _clientFd : _upstreamFd);
                if (error != 0 || failed.IsClosed)
                {
                    var reset = error == LinuxEpoll.ConnectionReset && !failed.IsClosed;
                    End(ref reading, reset ? CloseReason.Reset : CloseReason.Aborted, ref writing, CloseReason.ReceiverClosed);
                    return;
                }
            }
        }
#pragma warning disable CA1031 // The loop thread must survive anything one connection does; the connection ends.
        catch (Exception)
#pragma warning restore CA1031
        {
            if (!_finished)
            {
                Fail();
            }
        }
    }

    /// <summary>Reads <paramref name="direction"/>'s source and sends to its destination; false once the relay ended.</summary>
    /// <param name="direction">The direction to move.</param>
    /// <param name="untilEmpty">Read until EAGAIN or end of stream, even after a short read.</param>
    private bool Pump(ref Direction direction, bool untilEmpty)
    {
        var scratch = _loop.Scratch;
        for (var round = 0; round < MaxReadsPerTurn; round++)
        {
            if (direction.Splicing)
            {
                return PumpSplice(ref direction);
            }

            var received = LinuxEpoll.Receive(FdOf(direction, source: true), scratch);
            if (received <= 0)
            {
                if (OnNothingRead(ref direction, received) is { } done)
                {
                    return done;
                }

                continue;
            }

            var count = (int)received;
            _connection.AddBytes(direction.ToEndpoint, count);
            var sent = SendAll(FdOf(direction, source: false), scratch.AsSpan(0, count), out var error);
            if (error != 0)
            {
                return DestinationFailed(ref direction);
            }

            if (sent < count)
            {
                // The receiver is slow: keep the rest in a pooled block and stop reading this source until it is sent.
                var block = (PinnedMemoryPoolBlock)direction.Pool.Rent();
                scratch.AsSpan(sent, count - sent).CopyTo(block.Memory.Span);
                direction.Pending = block;
                direction.PendingOffset = 0;
                direction.PendingCount = count - sent;
                return true;
            }

            if (count < scratch.Length)
            {
                // A short read: the kernel had no more (it copies all it holds, backlog included), so the next data
                // brings the next edge. Unless a FIN may be waiting behind it: then read on to EAGAIN or the end.
                if (!untilEmpty)
                {
                    return true;
                }

                continue;
            }

            if (_splice && !direction.SpliceRefused)
            {
                // A full buffer: bulk data. The rest of this direction goes kernel to kernel, if a pipe can be had.
                if (LinuxSplice.TryCreatePipe(SpliceRelay.PipeSize, out direction.PipeRead, out direction.PipeWrite))
                {
                    // splice(2) honours only the sockets' own O_NONBLOCK, not SPLICE_F_NONBLOCK: it must never block the loop.
                    _client.Socket.Blocking = false;
                    _upstream.Socket.Blocking = false;
                    direction.Splicing = true;
                    return PumpSplice(ref direction);
                }

                direction.SpliceRefused = true;
            }
        }

        // More may be waiting, and no edge will say so: come back after the other sockets' events.
        _loop.Resume(this, tag: direction.ToEndpoint);
        return true;
    }

    private bool PumpSplice(ref Direction direction)
    {
        var source = FdOf(direction, source: true);
        for (var round = 0; round < MaxReadsPerTurn; round++)
        {
            var moved = LinuxSplice.Move(source, direction.PipeWrite, SpliceRelay.PipeSize);
            if (moved <= 0)
            {
                if (OnNothingRead(ref direction, moved) is { } done)
                {
                    return done;
                }

                continue;
            }

            _connection.AddBytes(direction.ToEndpoint, moved);
            direction.PipeBytes = moved;
            if (!DrainPipe(ref direction))
            {
                return false;
            }

            if (direction.PipeBytes > 0)
            {
                return true;
            }

            // A splice that moved less than a pipe does not mean the socket is drained (the pipe's slots can run out
            // first): only EAGAIN does, so read on.
        }

        _loop.Resume(this, tag: direction.ToEndpoint);
        return true;
    }

    /// <summary>
    /// A receive or splice from the source that moved nothing: the end of the stream, drained (EAGAIN: a spurious
    /// wake-up too; the next data brings the next edge), or failed. Null when interrupted: read again.
    /// </summary>
    /// <returns>What the pump returns: false once the relay ended.</returns>
    private bool? OnNothingRead(ref Direction direction, long result) => result switch
    {
        0 => EndOfStream(ref direction),
        -LinuxEpoll.WouldBlock => true,
        -LinuxEpoll.Interrupted => null,
        _ => SourceFailed(ref direction, (int)-result),
    };

    /// <summary>Moves what the pipe holds to the destination, as far as it takes it; false once the relay ended.</summary>
    private bool DrainPipe(ref Direction direction)
    {
        var destination = FdOf(direction, source: false);
        while (direction.PipeBytes > 0)
        {
            var moved = LinuxSplice.Move(direction.PipeRead, destination, (int)Math.Min(direction.PipeBytes, SpliceRelay.PipeSize));
            if (moved > 0)
            {
                direction.PipeBytes -= moved;
                continue;
            }

            if (moved == -LinuxEpoll.WouldBlock)
            {
                return true;
            }

            if (moved != -LinuxEpoll.Interrupted)
            {
                return DestinationFailed(ref direction);
            }
        }

        return true;
    }

    /// <summary>The destination can take more: send what waits, then read on; false once the relay ended.</summary>
    private bool Flush(ref Direction direction)
    {
        if (direction.Pending is { } block)
        {
            var sent = SendAll(FdOf(direction, source: false), block.Memory.Span.Slice(direction.PendingOffset, direction.PendingCount), out var error);
            if (error != 0)
            {
                return DestinationFailed(ref direction);
            }

            direction.PendingOffset += sent;
            direction.PendingCount -= sent;
            if (direction.PendingCount > 0)
            {
                return true;
            }

            direction.Pending = null;
            block.Dispose();
        }
        else if (!DrainPipe(ref direction))
        {
            return false;
        }

        // All sent. The source was not read while this waited, and what arrived meanwhile (a FIN too) brought its
        // edge then: read it to EAGAIN now.
        return direction.HasPending || Pump(ref direction, untilEmpty: true);
    }

    /// <summary>Sends as much as the socket takes now; <paramref name="error"/> is an errno other than EAGAIN.</summary>
    private static int SendAll(int fd, ReadOnlySpan<byte> data, out int error)
    {
        var total = 0;
        error = 0;
        while (total < data.Length)
        {
            var sent = LinuxEpoll.Send(fd, data[total..]);
            if (sent > 0)
            {
                total += (int)sent;
            }
            else if (sent == -LinuxEpoll.WouldBlock)
            {
                break;
            }
            else if (sent != -LinuxEpoll.Interrupted)
            {
                error = sent == 0 ? LinuxEpoll.BadDescriptor : (int)-sent;
                break;
            }
        }

        return total;
    }

    private bool EndOfStream(ref Direction direction)
    {
        // A FIN becomes a FIN; the other direction keeps flowing. When this is the last direction and it ends at the
        // upstream socket, the forwarder closes that socket as soon as the relay returns (a FIN too: everything
        // sent to it was read by now), so the shutdown call is saved; a client socket may be kept a while by
        // middleware after the forwarder, so it always gets its FIN here.
        ref var other = ref Other(ref direction);
        if (!(other.Ended && direction.ToEndpoint))
        {
            LinuxEpoll.ShutdownSend(FdOf(direction, source: false));
        }

        direction.Ended = true;
        direction.Reason = CloseReason.EndOfStream;
        if (other.Ended)
        {
            Teardown(abortive: false);
            return false;
        }

        return true;
    }

    private bool SourceFailed(ref Direction direction, int errno)
    {
        // A reset is passed on as a reset. A socket closed by our own abort (drain, idle scan, shutdown) was not reset by its peer.
        var source = direction.ToEndpoint ? _client : _upstream;
        var reason = errno == LinuxEpoll.ConnectionReset && !source.IsClosed ? CloseReason.Reset : CloseReason.Aborted;
        End(ref direction, reason, ref Other(ref direction), CloseReason.Aborted);
        return false;
    }

    private bool DestinationFailed(ref Direction direction)
    {
        // The receiver is gone: the sender gets a reset, telling it its data was not delivered.
        End(ref direction, CloseReason.ReceiverClosed, ref Other(ref direction), CloseReason.Aborted);
        return false;
    }

    /// <summary>Ends the relay abortively: <paramref name="first"/> for <paramref name="firstReason"/>, the other (if still running) as <paramref name="secondReason"/>.</summary>
    private void End(ref Direction first, CloseReason firstReason, ref Direction second, CloseReason secondReason)
    {
        if (!first.Ended)
        {
            first.Ended = true;
            first.Reason = firstReason;
        }

        if (!second.Ended)
        {
            second.Ended = true;
            second.Reason = secondReason;
        }

        Teardown(abortive: true);
    }

    /// <summary>Ends the relay abortively, both directions reported aborted (it could not start, or it threw).</summary>
    private void Fail()
    {
        _toEndpoint.Reason = _fromEndpoint.Reason = CloseReason.Aborted;
        Teardown(abortive: true);
    }

    private void Teardown(bool abortive)
    {
        // Both sockets stay registered until they are closed, which removes them: edge-triggered, they report at
        // most a last edge or two meanwhile, which the loop drops (the slot is free or holds another relay).
        _finished = true;
        _loop.Release(this);

        _toEndpoint.ReleaseBuffers();
        _fromEndpoint.ReleaseBuffers();
        Release();
        if (abortive)
        {
            _client.Abort(new ConnectionAbortedException("The other side of the proxied connection failed or closed."));
            _upstream.Abort(new ConnectionAbortedException("The other side of the proxied connection failed or closed."));
        }

        _completion.SetResult(new RelayResult(_toEndpoint.Reason, _fromEndpoint.Reason));
    }

    private bool TryReference()
    {
        try
        {
            _client.Socket.SafeHandle.DangerousAddRef(ref _clientReferenced);
            _upstream.Socket.SafeHandle.DangerousAddRef(ref _upstreamReferenced);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        _clientFd = (int)_client.Socket.SafeHandle.DangerousGetHandle();
        _upstreamFd = (int)_upstream.Socket.SafeHandle.DangerousGetHandle();
        return true;
    }

    private void Release()
    {
        if (_clientReferenced)
        {
            _clientReferenced = false;
            _client.Socket.SafeHandle.DangerousRelease();
        }

        if (_upstreamReferenced)
        {
            _upstreamReferenced = false;
            _upstream.Socket.SafeHandle.DangerousRelease();
        }
    }

    private int FdOf(in Direction direction, bool source) => direction.ToEndpoint == source ? _clientFd : _upstreamFd;

    private ref Direction Other(ref Direction direction) => ref direction.ToEndpoint ? ref _fromEndpoint : ref _toEndpoint;

    RelayResult IValueTaskSource<RelayResult>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<RelayResult>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<RelayResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _completion.OnCompleted(continuation, state, token, flags);

    /// <summary>One direction's state: what waits to be sent, and whether it has ended (a struct inside the relay: one object per connection, not three).</summary>
    private struct Direction(bool toEndpoint, PinnedBlockMemoryPool pool)
    {
        public bool ToEndpoint { get; } = toEndpoint;

        /// <summary>Where the rest of a read the receiver could not take waits.</summary>
        public PinnedBlockMemoryPool Pool { get; } = pool;

        public PinnedMemoryPoolBlock? Pending { get; set; }

        public int PendingOffset { get; set; }

        public int PendingCount { get; set; }

#pragma warning disable SA1401 // Passed by reference to pipe2.
        public int PipeRead = -1;
        public int PipeWrite = -1;
#pragma warning restore SA1401

        public long PipeBytes { get; set; }

        public bool Splicing { get; set; }

        public bool SpliceRefused { get; set; }

        public bool Ended { get; set; }

        public CloseReason Reason { get; set; }

        public bool HasPending => Pending is not null || PipeBytes > 0;

        public bool WantsRead => !Ended && !HasPending;

        public void ReleaseBuffers()
        {
            if (Pending is { } block)
            {
                Pending = null;
                block.Dispose();
            }

            if (PipeRead >= 0)
            {
                LinuxSplice.Close(PipeRead);
                LinuxSplice.Close(PipeWrite);
                PipeRead = PipeWrite = -1;
                PipeBytes = 0;
            }
        }
    }
}

/// <summary>Why each direction of a relayed connection ended.</summary>
internal readonly record struct RelayResult(CloseReason ToEndpoint, CloseReason FromEndpoint);
