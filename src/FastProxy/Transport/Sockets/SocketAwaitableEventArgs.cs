using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// A reusable <see cref="SocketAsyncEventArgs"/> that is its own <see cref="IValueTaskSource{TResult}"/>, so
/// awaiting a socket operation allocates nothing (Kestrel's design). One instance supports one outstanding
/// operation at a time; the version token is always 0 because instances are never shared between awaiters.
/// </summary>
internal abstract class SocketAwaitableEventArgs : SocketAsyncEventArgs, IValueTaskSource<SocketOperationResult>
{
    // Sentinel meaning "the operation completed before anyone registered a continuation".
    private static readonly Action<object?> s_completedSentinel = static _ => { };

    private readonly PipeScheduler _ioScheduler;
    private Action<object?>? _continuation;
    private object? _continuationState;

    protected SocketAwaitableEventArgs(PipeScheduler ioScheduler)
        // The continuation runs the awaiting async method, which restores its own ExecutionContext, so
        // capturing one per operation would be pure overhead.
        : base(unsafeSuppressExecutionContextFlow: true)
    {
        _ioScheduler = ioScheduler;
    }

    /// <summary>The result of an operation that completed synchronously (the socket call returned false).</summary>
    protected SocketOperationResult SynchronousResult =>
        SocketError == SocketError.Success ? new SocketOperationResult(BytesTransferred) : new SocketOperationResult(SocketError);

    protected override void OnCompleted(SocketAsyncEventArgs _)
    {
        var continuation = _continuation;
        if (continuation is not null ||
            (continuation = Interlocked.CompareExchange(ref _continuation, s_completedSentinel, null)) is not null)
        {
            // An awaiter registered before the I/O finished: hand it the result.
            var state = _continuationState;
            _continuationState = null;

            // Publish "completed" before scheduling: the continuation calls GetResult, which resets the field
            // for the next operation, and that reset must not be overwritten by us afterwards.
            _continuation = s_completedSentinel;
            _ioScheduler.Schedule(continuation, state);
        }
    }

    public SocketOperationResult GetResult(short token)
    {
        Debug.Assert(ReferenceEquals(_continuation, s_completedSentinel));
        _continuation = null;
        return SocketError == SocketError.Success ? new SocketOperationResult(BytesTransferred) : new SocketOperationResult(SocketError);
    }

    // Errors are values, so a completed operation always reports Succeeded; GetResult never throws.
    public ValueTaskSourceStatus GetStatus(short token) =>
        ReferenceEquals(_continuation, s_completedSentinel) ? ValueTaskSourceStatus.Succeeded : ValueTaskSourceStatus.Pending;

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        _continuationState = state;
        var previous = Interlocked.CompareExchange(ref _continuation, continuation, null);
        if (ReferenceEquals(previous, s_completedSentinel))
        {
            // The I/O completed between the awaiter's IsCompleted check and this registration.
            _continuationState = null;
            ThreadPool.UnsafeQueueUserWorkItem(continuation, state, preferLocal: true);
        }
    }
}
