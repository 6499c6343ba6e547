using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace FastProxy.Transport.Epoll;

/// <summary>
/// One thread waiting on one epoll instance for the sockets of the handlers it owns (relays, connects),
/// HAProxy's event loop in small: level-triggered readiness, a non-blocking <c>recv</c> and <c>send</c> per
/// message, and nothing else (the runtime's socket engine needs a readiness probe, a zero-byte receive that
/// fails first and a thread hop as well). Only this thread touches its handlers after they are started.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class EpollLoop
{
    private const int BatchSize = 256;
    private const ulong WakeData = ulong.MaxValue;

    /// <summary>Each loop reads into one buffer of this size: a receive never rents a block unless its data cannot all be sent at once.</summary>
    public const int ScratchSize = 64 * 1024;

    private static EpollLoop[]? s_loops;
    private static uint s_next;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly ConcurrentQueue<EpollHandler> _added = new();
    private readonly Stack<int> _freeSlots = new();
    private EpollHandler?[] _slots = new EpollHandler?[256];
    private int _usedSlots;
    private uint _sequence;
    private int _signalled;
    private List<(EpollHandler Handler, bool Tag)> _resumed = [];
    private List<(EpollHandler Handler, bool Tag)> _resuming = [];

    private EpollLoop(int index)
    {
        _epoll = LinuxEpoll.Create();
        _wake = LinuxEpoll.CreateEventFd();
        var error = LinuxEpoll.Add(_epoll, _wake, LinuxEpoll.In, WakeData);
        if (error != 0)
        {
            throw new InvalidOperationException($"epoll_ctl(ADD eventfd) failed: errno {error}.");
        }

        Scratch = GC.AllocateUninitializedArray<byte>(ScratchSize, pinned: true);
        var thread = new Thread(Run) { IsBackground = true, Name = $"FastProxy epoll {index}" };
        thread.UnsafeStart();
    }

    /// <summary>The receive buffer of this loop's thread (pinned: its address is passed to the kernel).</summary>
    public byte[] Scratch { get; }

    /// <summary>Whether this machine can run the loops (Linux on x86-64).</summary>
    public static bool IsSupported => LinuxEpoll.IsSupported;

    /// <summary>A loop for a new handler: one loop per processor the runtime uses, taken in turn.</summary>
    public static EpollLoop Next()
    {
        var loops = Volatile.Read(ref s_loops) ?? CreateLoops();
        return loops[Interlocked.Increment(ref s_next) % (uint)loops.Length];
    }

    /// <summary>Hands a handler to this loop's thread, which gives it a slot and starts it.</summary>
    public void Post(EpollHandler handler)
    {
        _added.Enqueue(handler);
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            LinuxEpoll.Signal(_wake);
        }
    }

    /// <summary>
    /// Starts watching <paramref name="fd"/> for <paramref name="handler"/>, which gets <paramref name="tag"/> back
    /// with each event; returns 0 or the errno.
    /// </summary>
    public int Watch(EpollHandler handler, int fd, bool tag, uint events) => LinuxEpoll.Add(_epoll, fd, events, Data(handler, tag));

    /// <summary>Changes what <paramref name="fd"/> is watched for; returns 0 or the errno.</summary>
    public int Rewatch(EpollHandler handler, int fd, bool tag, uint events) => LinuxEpoll.Modify(_epoll, fd, events, Data(handler, tag));

    /// <summary>Stops watching <paramref name="fd"/>, which must still be open (a closed one has left the set by itself, a reused number would not be ours).</summary>
    public void Unwatch(int fd) => _ = LinuxEpoll.Delete(_epoll, fd);

    /// <summary>
    /// On the loop thread: calls the handler's <see cref="EpollHandler.OnEvents"/> for the socket tagged
    /// <paramref name="tag"/> again, with a readable event, after the current batch: for a busy socket that stopped
    /// reading to let others have their turn, and that no new edge would report.
    /// </summary>
    public void Resume(EpollHandler handler, bool tag) => _resumed.Add((handler, tag));

    /// <summary>Frees the handler's slot: events still queued for it are dropped.</summary>
    public void Release(EpollHandler handler)
    {
        _slots[handler.Slot] = null;
        _freeSlots.Push(handler.Slot);
    }

    private static EpollLoop[] CreateLoops()
    {
        var loops = new EpollLoop[Math.Max(1, Environment.ProcessorCount)];
        for (var i = 0; i < loops.Length; i++)
        {
            loops[i] = new EpollLoop(i);
        }

        // Another thread may have raced us; its loops win and ours idle (a few threads, once per process).
        return Interlocked.CompareExchange(ref s_loops, loops, null) ?? loops;
    }

    private static ulong Data(EpollHandler handler, bool tag)
        => ((ulong)handler.Sequence << 32) | ((ulong)(uint)handler.Slot << 1) | (tag ? 1UL : 0UL);

    private unsafe void Run()
    {
        var events = (LinuxEpoll.Event*)NativeMemory.Alloc(BatchSize, (nuint)sizeof(LinuxEpoll.Event));
        while (true)
        {
            // Sockets waiting for their turn: only look for new events, do not wait for them.
            var count = LinuxEpoll.Wait(_epoll, events, BatchSize, _resumed.Count > 0 ? 0 : -1);
            if (count < 0)
            {
                // EINTR (a debugger, a signal): just wait again. Nothing else can fail on a valid epoll descriptor.
                continue;
            }

            for (var i = 0; i < count; i++)
            {
                var data = events[i].Data;
                if (data == WakeData)
                {
                    LinuxEpoll.ClearSignal(_wake);
                    Volatile.Write(ref _signalled, 0);
                    RegisterAdded();
                    continue;
                }

                var slot = (int)((uint)data >> 1);
                var handler = _slots[slot];

                // A handler released earlier in this batch leaves events behind; its slot may even hold a new one by now.
                if (handler is not null && handler.Sequence == (uint)(data >> 32))
                {
                    handler.OnEvents(tag: (data & 1) != 0, events[i].Events);
                }
            }

            RunResumed();
        }
    }

    private void RunResumed()
    {
        if (_resumed.Count == 0)
        {
            return;
        }

        // Swapped, so a handler resuming again lands in the next turn, not this one.
        (_resumed, _resuming) = (_resuming, _resumed);
        foreach (var (handler, tag) in _resuming)
        {
            // Skipped when the handler was released meanwhile (handlers are never reused; its slot is free or holds another).
            if (_slots[handler.Slot] == handler)
            {
                // Reported as readable with the peer's FIN possibly in: the handler reads until EAGAIN, not to a short read.
                handler.OnEvents(tag, LinuxEpoll.In | LinuxEpoll.ReadHangUp);
            }
        }

        _resuming.Clear();
    }

    private void RegisterAdded()
    {
        while (_added.TryDequeue(out var handler))
        {
            int slot;
            if (!_freeSlots.TryPop(out slot))
            {
                slot = _usedSlots++;
                if (slot == _slots.Length)
                {
                    Array.Resize(ref _slots, _slots.Length * 2);
                }
            }

            _slots[slot] = handler;
            handler.Slot = slot;
            handler.Sequence = ++_sequence;
            handler.Start();
        }
    }
}
