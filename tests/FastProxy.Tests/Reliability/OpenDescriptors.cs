using System.Globalization;
using System.Net;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// What this process's file descriptors point at (from <c>/proc/self/fd</c>), sockets named by their TCP
/// endpoints and state (from <c>/proc/net/tcp</c>): a leak check that fails says which descriptors leaked.
/// </summary>
internal static class OpenDescriptors
{
    public static HashSet<string> Snapshot()
    {
        var targets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                targets.Add($"{Path.GetFileName(fd)} -> {new FileInfo(fd).LinkTarget}");
            }
            catch (IOException)
            {
                // Closed between the listing and the read.
            }
        }

        return targets;
    }

    /// <summary>
    /// The sockets and pipes open now that were not in <paramref name="baseline"/>, described: what a connection that
    /// was not torn down leaves behind. (Other descriptors come and go on their own: the runtime maps an assembly and
    /// its symbols the first time it renders a stack trace, for one.)
    /// </summary>
    public static List<string> AddedSocketsAndPipes(HashSet<string> baseline)
    {
        var tcp = TcpSockets();
        return Snapshot()
            .Where(d => !baseline.Contains(d) && (d.Contains("socket:[", StringComparison.Ordinal) || d.Contains("pipe:[", StringComparison.Ordinal)))
            .Select(d =>
            {
                var inode = d[(d.IndexOf('[', StringComparison.Ordinal) + 1)..^1];
                return tcp.TryGetValue(inode, out var socket) ? $"{d} ({socket})" : d;
            })
            .ToList();
    }

    /// <summary>Socket inode to "local -> remote, state" for every IPv4 TCP socket of the machine.</summary>
    private static Dictionary<string, string> TcpSockets()
    {
        var sockets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 9)
            {
                sockets[fields[9]] = $"{Endpoint(fields[1])} -> {Endpoint(fields[2])}, state {fields[3]}";
            }
        }

        return sockets;
    }

    private static string Endpoint(string hex)
    {
        var parts = hex.Split(':');
        var address = new IPAddress(uint.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        return $"{address}:{int.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture)}";
    }
}
