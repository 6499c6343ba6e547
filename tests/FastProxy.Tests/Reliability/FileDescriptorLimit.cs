using System.Globalization;
using System.Runtime.InteropServices;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// The process's open-file limit (RLIMIT_NOFILE). Raising the soft limit up to the hard one needs no
/// privilege; raising the hard one needs CAP_SYS_RESOURCE, which the test machines do not grant, so a
/// process can hold at most the hard limit's worth of sockets. Children inherit the limits at fork.
/// </summary>
internal static partial class FileDescriptorLimit
{
    private const int RlimitNofile = 7;

    /// <summary>Raises the soft limit to the hard limit; returns the soft limit now in force.</summary>
    public static long RaiseSoftToHard()
    {
        if (GetRlimit(RlimitNofile, out var limit) != 0)
        {
            throw new InvalidOperationException($"getrlimit(RLIMIT_NOFILE) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        if (limit.Current < limit.Max)
        {
            var raised = limit with { Current = limit.Max };
            if (SetRlimit(RlimitNofile, in raised) != 0)
            {
                throw new InvalidOperationException($"setrlimit(RLIMIT_NOFILE, {limit.Max}) failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }

        return (long)Math.Min(limit.Max, long.MaxValue);
    }

    /// <summary>The soft open-file limit of process <paramref name="pid"/>, from <c>/proc/PID/limits</c>.</summary>
    public static long SoftLimitOf(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        return long.Parse(line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Rlimit(ulong Current, ulong Max);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, out Rlimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRlimit(int resource, in Rlimit limit);
}
