using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace FastProxy.Forwarding;

/// <summary>
/// One thread waiting on one epoll instance for the sockets of the relays it owns, HAProxy's event loop in
/// small: level-triggered readiness, a non-blocking <c>recv</c> and <c>send</c> per message, and nothing else
/// (the runtime's socket engine needs a readiness probe, a zero-byte receive that fails first and a thread
/// hop as well). Only this thread touches its relays after they are registered.
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
    private readonly ConcurrentQueue<EpollRelay> _added = new();
    private readonly Stack<int> _freeSlots = new();
    private EpollRelay?[] _slots = new EpollRelay?[256];
    private int _usedSlots;
    private uint _sequence;
    private int _signalled;

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

    /// <summary>A loop for a new relay: one loop per processor the runtime uses, taken in turn.</summary>
    public static EpollLoop Next()
    {
        var loops = Volatile.Read(ref s_loops) ?? CreateLoops();
        return loops[Interlocked.Increment(ref s_next) % (uint)loops.Length];
    }

    /// <summary>Hands a relay to this loop's thread, which registers its sockets.</summary>
    public void Post(EpollRelay relay)
    {
        _added.Enqueue(relay);
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            LinuxEpoll.Signal(_wake);
        }
    }

    /// <summary>Starts watching <paramref name="fd"/> for <paramref name="relay"/>; returns 0 or the errno.</summary>
    public int Watch(EpollRelay relay, int fd, bool clientSide, uint events) => LinuxEpoll.Add(_epoll, fd, events, Data(relay, clientSide));

    /// <summary>Changes what <paramref name="fd"/> is watched for; returns 0 or the errno.</summary>
    public int Rewatch(EpollRelay relay, int fd, bool clientSide, uint events) => LinuxEpoll.Modify(_epoll, fd, events, Data(relay, clientSide));

    /// <summary>Stops watching the relay's sockets and frees its slot. The descriptors must still be open.</summary>
    public void Forget(EpollRelay relay, int clientFd, int upstreamFd)
    {
        _ = LinuxEpoll.Delete(_epoll, clientFd);
        _ = LinuxEpoll.Delete(_epoll, upstreamFd);
        _slots[relay.Slot] = null;
        _freeSlots.Push(relay.Slot);
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

    private static ulong Data(EpollRelay relay, bool clientSide)
        => ((ulong)relay.Sequence << 32) | ((ulong)(uint)relay.Slot << 1) | (clientSide ? 1UL : 0UL);

    private unsafe void Run()
    {
        var events = (LinuxEpoll.Event*)NativeMemory.Alloc(BatchSize, (nuint)sizeof(LinuxEpoll.Event));
        while (true)
        {
            var count = LinuxEpoll.Wait(_epoll, events, BatchSize, -1);
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
                var relay = _slots[slot];

                // A relay torn down earlier in this batch leaves events behind; its slot may even hold a new one by now.
                if (relay is not null && relay.Sequence == (uint)(data >> 32))
                {
                    relay.OnEvents(clientSide: (data & 1) != 0, events[i].Events);
                }
            }
        }
    }

    private void RegisterAdded()
    {
        while (_added.TryDequeue(out var relay))
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

            _slots[slot] = relay;
            relay.Slot = slot;
            relay.Sequence = ++_sequence;
            relay.Start();
        }
    }
}
