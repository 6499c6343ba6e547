using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// A <see cref="PipeScheduler"/> that runs its work items one after another on a single thread-pool work
/// item (Kestrel's <c>IOQueue</c>). Connections are spread over several queues, so the transport-side
/// continuations of many connections are batched on few thread-pool dispatches without ever running two
/// of them in parallel on one queue.
/// </summary>
internal sealed class IOQueue : PipeScheduler, IThreadPoolWorkItem
{
    private readonly ConcurrentQueue<Work> _workItems = new();

    // 1 while a thread-pool work item is scheduled or draining the queue.
    private int _doingWork;

    public override void Schedule(Action<object?> action, object? state)
    {
        _workItems.Enqueue(new Work(action, state));

        // Only the caller that flips 0 -> 1 queues the drain; everyone else's item is picked up by it.
        if (Interlocked.CompareExchange(ref _doingWork, 1, 0) == 0)
        {
            // preferLocal: false -- the global queue, so a queue's drain is not stuck behind the local work
            // of the thread that happened to schedule it.
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            while (_workItems.TryDequeue(out var item))
            {
                item.Callback(item.State);
            }

            // Announce that we are about to stop before looking at the queue one last time; a producer that
            // enqueues after our check sees 0 and schedules a new drain.
            _doingWork = 0;

            // The store above and the IsEmpty load below touch different locations: without a full fence
            // they could be reordered and an item enqueued in between would never run.
            Thread.MemoryBarrier();

            if (_workItems.IsEmpty)
            {
                return;
            }

            // Work arrived; take the drain back unless a producer already scheduled a new one.
            if (Interlocked.Exchange(ref _doingWork, 1) == 1)
            {
                return;
            }
        }
    }

    private readonly struct Work
    {
        public Work(Action<object?> callback, object? state)
        {
            Callback = callback;
            State = state;
        }

        public Action<object?> Callback { get; }

        public object? State { get; }
    }
}
