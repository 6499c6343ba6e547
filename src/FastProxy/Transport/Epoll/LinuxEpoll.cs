using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace FastProxy.Transport.Epoll;

/// <summary>
/// The Linux system calls of the epoll loops (<see cref="EpollLoop"/>): an epoll instance, an eventfd to wake
/// it, and non-blocking <c>connect</c>/<c>recv</c>/<c>send</c>/<c>shutdown</c> on raw socket descriptors.
/// </summary>
[SupportedOSPlatform("linux")]
internal static partial class LinuxEpoll
{
    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Error = 0x008;
    public const uint HangUp = 0x010;
    public const uint ReadHangUp = 0x2000;
    public const uint EdgeTriggered = 0x80000000;
    public const uint OneShot = 0x40000000;

    // The errnos the loops and splice(2) act on; ToSocketError maps the rest.
    public const int WouldBlock = 11; // EAGAIN
    public const int Interrupted = 4; // EINTR
    public const int BadDescriptor = 9; // EBADF: closed by the other direction or an abort
    public const int ConnectionReset = 104; // ECONNRESET
    public const int InProgress = 115; // EINPROGRESS
    public const int NotConnected = 107; // ENOTCONN

    private const int CloseOnExec = 0x80000; // EPOLL_CLOEXEC, EFD_CLOEXEC
    private const int NonBlock = 0x800; // EFD_NONBLOCK
    private const int ControlAdd = 1;
    private const int ControlDelete = 2;
    private const int ControlModify = 3;
    private const int DontWait = 0x40; // MSG_DONTWAIT
    private const int NoSignal = 0x4000; // MSG_NOSIGNAL: a closed peer is EPIPE, not SIGPIPE
    private const int ShutdownWrite = 1; // SHUT_WR
    private const nuint IoctlNonBlocking = 0x5421; // FIONBIO
    private const int ShutdownBoth = 2; // SHUT_RDWR
    private const int SocketLevel = 1; // SOL_SOCKET
    private const int SocketError = 4; // SO_ERROR

    /// <summary>
    /// The layout of <c>struct epoll_event</c> is packed (12 bytes) on x86-64 only, which is the layout declared
    /// here; other architectures use the portable relay.
    /// </summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary><c>struct epoll_event</c> as x86-64 lays it out.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct Event
    {
        public uint Events;
        public ulong Data;
    }

    public static int Create()
    {
        var fd = EpollCreate1(CloseOnExec);
        return fd >= 0 ? fd : throw new InvalidOperationException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}.");
    }

    public static int CreateEventFd()
    {
        var fd = EventFd(0, CloseOnExec | NonBlock);
        return fd >= 0 ? fd : throw new InvalidOperationException($"eventfd failed: errno {Marshal.GetLastPInvokeError()}.");
    }

    /// <returns>0, or the errno.</returns>
    public static unsafe int Add(int epoll, int fd, uint events, ulong data) => Control(epoll, ControlAdd, fd, events, data);

    /// <returns>0, or the errno.</returns>
    public static unsafe int Modify(int epoll, int fd, uint events, ulong data) => Control(epoll, ControlModify, fd, events, data);

    /// <returns>0, or the errno.</returns>
    public static unsafe int Delete(int epoll, int fd) => Control(epoll, ControlDelete, fd, 0, 0);

    /// <returns>How many events were written, or -errno.</returns>
    public static unsafe int Wait(int epoll, Event* events, int capacity, int timeoutMilliseconds)
    {
        var count = EpollWait(epoll, events, capacity, timeoutMilliseconds);
        return count >= 0 ? count : -Marshal.GetLastPInvokeError();
    }

    /// <returns>Bytes received (0: end of stream), or -errno.</returns>
    public static unsafe long Receive(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var received = Recv(fd, p, (nuint)buffer.Length, DontWait);
            return received >= 0 ? received : -Marshal.GetLastPInvokeError();
        }
    }

    /// <returns>Bytes sent, or -errno.</returns>
    public static unsafe long Send(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var sent = SendNative(fd, p, (nuint)buffer.Length, DontWait | NoSignal);
            return sent >= 0 ? sent : -Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>Sends FIN; errors (the peer reset meanwhile) are reported by the next operation instead.</summary>
    public static void ShutdownSend(int fd) => _ = Shutdown(fd, ShutdownWrite);

    /// <summary>The socket error an errno means (for close reasons, reset decisions and connect failures).</summary>
    public static System.Net.Sockets.SocketError ToSocketError(int errno) => errno switch
    {
        1 or 13 => System.Net.Sockets.SocketError.AccessDenied, // EPERM, EACCES
        BadDescriptor => System.Net.Sockets.SocketError.OperationAborted,
        32 => System.Net.Sockets.SocketError.Shutdown, // EPIPE
        97 => System.Net.Sockets.SocketError.AddressFamilyNotSupported,
        98 => System.Net.Sockets.SocketError.AddressAlreadyInUse,
        99 => System.Net.Sockets.SocketError.AddressNotAvailable,
        101 => System.Net.Sockets.SocketError.NetworkUnreachable,
        103 => System.Net.Sockets.SocketError.ConnectionAborted,
        ConnectionReset => System.Net.Sockets.SocketError.ConnectionReset,
        105 => System.Net.Sockets.SocketError.NoBufferSpaceAvailable,
        NotConnected => System.Net.Sockets.SocketError.NotConnected,
        110 => System.Net.Sockets.SocketError.TimedOut,
        111 => System.Net.Sockets.SocketError.ConnectionRefused,
        113 => System.Net.Sockets.SocketError.HostUnreachable,
        _ => System.Net.Sockets.SocketError.SocketError,
    };

    /// <summary>Makes <paramref name="fd"/> non-blocking (FIONBIO); 0, or the errno.</summary>
    public static unsafe int SetNonBlocking(int fd)
    {
        int on = 1;
        return Ioctl(fd, IoctlNonBlocking, &on) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>Starts a connect on a non-blocking socket; 0 (connected), or the errno (EINPROGRESS: wait until writable).</summary>
    public static unsafe int Connect(int fd, ReadOnlySpan<byte> socketAddress)
    {
        fixed (byte* p = socketAddress)
        {
            return ConnectNative(fd, p, (uint)socketAddress.Length) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>The address <paramref name="socket"/> is bound to (getsockname), for a socket the runtime did not connect.</summary>
    public static unsafe System.Net.EndPoint? LocalEndPoint(System.Net.Sockets.Socket socket)
    {
        var address = new System.Net.SocketAddress(socket.AddressFamily);
        var handle = socket.SafeHandle;
        var referenced = false;
        try
        {
            handle.DangerousAddRef(ref referenced);
            var length = (uint)address.Buffer.Length;
            fixed (byte* p = address.Buffer.Span)
            {
                if (GetSockName((int)handle.DangerousGetHandle(), p, &length) != 0)
                {
                    return null;
                }
            }

            address.Size = (int)length;
            return new System.Net.IPEndPoint(System.Net.IPAddress.Any, 0).Create(address);
        }
        finally
        {
            if (referenced)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Ends a connect in progress (the kernel drops it and reports the socket writable, with an error).</summary>
    public static void Abandon(int fd) => _ = Shutdown(fd, ShutdownBoth);

    /// <summary>The pending socket error (SO_ERROR), which reading also clears; 0 when there is none.</summary>
    public static unsafe int PendingError(int fd)
    {
        int error = 0;
        var length = sizeof(int);
        return GetSockOpt(fd, SocketLevel, SocketError, &error, &length) == 0 ? error : Marshal.GetLastPInvokeError();
    }

    public static unsafe void Signal(int eventFd)
    {
        ulong one = 1;
        _ = Write(eventFd, &one, sizeof(ulong));
    }

    public static unsafe void ClearSignal(int eventFd)
    {
        ulong value;
        _ = Read(eventFd, &value, sizeof(ulong));
    }

    private static unsafe int Control(int epoll, int operation, int fd, uint events, ulong data)
    {
        var e = new Event { Events = events, Data = data };
        return EpollCtl(epoll, operation, fd, &e) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static unsafe partial int EpollCtl(int epoll, int operation, int fd, Event* e);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static unsafe partial int EpollWait(int epoll, Event* events, int capacity, int timeout);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint Recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint SendNative(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static unsafe partial int ConnectNative(int fd, byte* address, uint length);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int Ioctl(int fd, nuint request, int* value);

    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    private static unsafe partial int GetSockName(int fd, byte* address, uint* length);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static unsafe partial int GetSockOpt(int fd, int level, int name, int* value, int* length);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, void* buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, void* buffer, nuint length);
}
