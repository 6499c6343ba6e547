using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace FastProxy.Forwarding;

/// <summary>
/// The Linux system calls of the zero-copy path: <c>splice(2)</c> moves bytes between a socket and a kernel
/// pipe without copying them into user space (HAProxy's trick), <c>pipe2(2)</c> makes the pipe.
/// </summary>
[SupportedOSPlatform("linux")]
internal static partial class LinuxSplice
{
    private const uint SpliceMove = 1;
    private const uint SpliceNonBlock = 2;
    private const int PipeNonBlock = 0x800; // O_NONBLOCK
    private const int PipeCloseOnExec = 0x80000; // O_CLOEXEC
    private const int FcntlSetPipeSize = 1031; // F_SETPIPE_SZ


    /// <summary>Moves up to <paramref name="length"/> bytes from <paramref name="from"/> to <paramref name="to"/>; never blocks.</summary>
    /// <returns>Bytes moved (0: end of stream), or -errno.</returns>
    public static long Move(int from, int to, int length)
    {
        var moved = Splice(from, IntPtr.Zero, to, IntPtr.Zero, (nuint)length, SpliceMove | SpliceNonBlock);
        return moved >= 0 ? moved : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Reads from a pipe into <paramref name="buffer"/>; never blocks.</summary>
    /// <returns>Bytes read, or -errno.</returns>
    public static unsafe long Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var read = ReadNative(fd, p, (nuint)buffer.Length);
            return read >= 0 ? read : -Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>Creates a non-blocking pipe of (at least) <paramref name="size"/> bytes.</summary>
    public static unsafe bool TryCreatePipe(int size, out int readFd, out int writeFd)
    {
        var fds = stackalloc int[2];
        if (Pipe2(fds, PipeNonBlock | PipeCloseOnExec) != 0)
        {
            readFd = writeFd = -1;
            return false;
        }

        readFd = fds[0];
        writeFd = fds[1];

        // Best effort: a bigger pipe lets one splice move a whole burst (the default is 64 KiB).
        _ = Fcntl(writeFd, FcntlSetPipeSize, size);
        return true;
    }

    public static void Close(int fd) => _ = CloseNative(fd);

    [LibraryImport("libc", EntryPoint = "splice", SetLastError = true)]
    private static partial long Splice(int fdIn, IntPtr offIn, int fdOut, IntPtr offOut, nuint length, uint flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial long ReadNative(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static unsafe partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseNative(int fd);
}
