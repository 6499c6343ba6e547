namespace FastProxy.Transport.Sockets;

/// <summary>
/// Options for <see cref="SocketConnectionListenerFactory"/> and <see cref="SocketConnectionFactory"/>.
/// </summary>
/// <remarks>
/// The factories copy the values when they are constructed; changing an instance afterwards has no effect
/// on factories that already exist.
/// </remarks>
public sealed class SocketTransportOptions
{
    /// <summary>The smallest accepted <see cref="BlockSize"/>.</summary>
    private const int MinBlockSize = 1024;

    /// <summary>The largest accepted <see cref="BlockSize"/>.</summary>
    private const int MaxBlockSize = 1024 * 1024;

    /// <summary>
    /// Gets or sets whether Nagle's algorithm is disabled (TCP_NODELAY) on accepted and connected sockets.
    /// A proxy forwards whatever it has as soon as it has it, so delaying small segments only adds latency.
    /// Defaults to <see langword="true"/>.
    /// </summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// Gets or sets the maximum length of the pending-connection queue passed to <c>listen(2)</c>.
    /// The kernel caps it at <c>net.core.somaxconn</c>.
    /// Defaults to 4096.
    /// </summary>
    public int Backlog { get; set; } = 4096;

    /// <summary>
    /// Gets or sets whether listeners set SO_REUSEPORT before binding, so that several listeners (in this
    /// or other processes) can bind the same address and port and the kernel spreads new connections
    /// over them. Supported on Linux, macOS and FreeBSD; binding throws <see cref="PlatformNotSupportedException"/>
    /// elsewhere. Security: any process of the same user can then bind the port too and receive a share
    /// of the connections. Defaults to <see langword="false"/>.
    /// </summary>
    public bool ReusePort { get; set; }

    /// <summary>
    /// Gets or sets whether each connection waits for data with a zero-byte receive before it leases a buffer
    /// from the memory pool, so that idle connections hold no memory. Turning it off saves one syscall per
    /// receive at the cost of one pinned block per open connection. Defaults to <see langword="true"/>.
    /// </summary>
    public bool WaitForDataBeforeAllocatingBuffer { get; set; } = true;

    /// <summary>
    /// Gets or sets how many received bytes the transport buffers before it stops reading from the socket
    /// (the application has not consumed them yet). Reading resumes when the buffer drains to half of it.
    /// Zero disables the limit; do not do that for untrusted peers, a fast sender can then make the process
    /// buffer without bound. Defaults to 1 MiB (1048576).
    /// </summary>
    public long MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Gets or sets how many bytes the application may write ahead of the socket before
    /// <c>Transport.Output.FlushAsync()</c> stops completing; it completes again when the buffer drains to half
    /// of it. Zero disables the limit; do not do that, a peer that never reads then makes the process buffer
    /// without bound. Defaults to 64 KiB (65536).
    /// </summary>
    public long MaxWriteBufferSize { get; set; } = 64 * 1024;

    /// <summary>
    /// Gets or sets the number of I/O queues. Connections are spread round-robin over the queues; each queue
    /// serialises the transport-side pipe continuations of its connections on one thread-pool work item and
    /// has its own memory pool and sender pool. Zero runs those continuations inline (on the thread that
    /// completed the socket operation or the pipe flush), which saves a thread hop but lets one busy
    /// connection delay others on that thread; application continuations always go to the thread pool.
    /// Defaults to <c>Math.Min(Environment.ProcessorCount, 16)</c>.
    /// </summary>
    public int IOQueueCount { get; set; } = Math.Min(Environment.ProcessorCount, 16);

    /// <summary>
    /// Gets or sets the size in bytes of the pinned blocks of the transport's memory pool. Every receive asks
    /// for at least half a block, so this bounds how much one <c>recv</c> system call can return. Must be
    /// between 1 KiB and 1 MiB. Defaults to 16 KiB (16384).
    /// </summary>
    /// <remarks>
    /// Why 16 KiB and not Kestrel's 4 KiB: Kestrel parses HTTP, where most reads are small. A proxy moves bulk
    /// data, and with 4 KiB blocks each receive syscall returns at most 4 KiB, so throughput is bounded by the
    /// syscall rate. 16 KiB moves four times as much per syscall, while the memory cost stays proportional to
    /// the connections that actually have data in flight: with <see cref="WaitForDataBeforeAllocatingBuffer"/>
    /// an idle connection holds no block at all. Bigger blocks gain nothing more and waste memory when reads are
    /// small (a 100-byte request still pins a whole block until consumed).
    /// Measured (2 GiB one way over loopback through this transport, Release, 2-core EPYC VM, .NET 10.0.12,
    /// two rounds each): 4 KiB 1.0-1.4 GB/s, 16 KiB 2.6-2.7 GB/s, 64 KiB 2.4-2.5 GB/s.
    /// </remarks>
    public int BlockSize { get; set; } = 16 * 1024;

    /// <summary>
    /// On Linux x86-64, outgoing connects are waited for by FastProxy's epoll loops rather than the runtime's socket
    /// engine (see Transport/Epoll/EpollConnect.cs). Internal switch for the before/after benchmark.
    /// </summary>
    internal bool ConnectThroughEpoll { get; set; } = true;

    /// <summary>Throws when a value is out of range; called by the factories before they copy the options.</summary>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Backlog, $"{nameof(SocketTransportOptions)}.{nameof(Backlog)}");
        ArgumentOutOfRangeException.ThrowIfNegative(MaxReadBufferSize, $"{nameof(SocketTransportOptions)}.{nameof(MaxReadBufferSize)}");
        ArgumentOutOfRangeException.ThrowIfNegative(MaxWriteBufferSize, $"{nameof(SocketTransportOptions)}.{nameof(MaxWriteBufferSize)}");
        ArgumentOutOfRangeException.ThrowIfNegative(IOQueueCount, $"{nameof(SocketTransportOptions)}.{nameof(IOQueueCount)}");
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, MinBlockSize, $"{nameof(SocketTransportOptions)}.{nameof(BlockSize)}");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BlockSize, MaxBlockSize, $"{nameof(SocketTransportOptions)}.{nameof(BlockSize)}");
    }

    /// <summary>A validated copy, so later changes to this instance do not reach running factories.</summary>
    internal SocketTransportOptions Snapshot()
    {
        Validate();
        return new SocketTransportOptions
        {
            NoDelay = NoDelay,
            Backlog = Backlog,
            ReusePort = ReusePort,
            WaitForDataBeforeAllocatingBuffer = WaitForDataBeforeAllocatingBuffer,
            MaxReadBufferSize = MaxReadBufferSize,
            MaxWriteBufferSize = MaxWriteBufferSize,
            IOQueueCount = IOQueueCount,
            BlockSize = BlockSize,
            ConnectThroughEpoll = ConnectThroughEpoll,
        };
    }
}
