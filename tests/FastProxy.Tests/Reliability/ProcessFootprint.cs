using System.Globalization;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// What another process holds, read from /proc: descriptors (and how many are sockets and pipes) and resident
/// memory. Leak checks compare sockets and pipes: the runtime also opens each assembly it loads lazily
/// (twice), so the descriptor total grows the first time a code path runs.
/// </summary>
internal sealed record ProcessFootprint(int FileDescriptors, int Sockets, int Pipes, long ResidentBytes)
{
    public static ProcessFootprint Of(int pid)
    {
        var fds = 0;
        var pipes = 0;
        var sockets = 0;
        foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fd"))
        {
            fds++;
            try
            {
                var target = new FileInfo(fd).LinkTarget ?? string.Empty;
                pipes += target.StartsWith("pipe:", StringComparison.Ordinal) ? 1 : 0;
                sockets += target.StartsWith("socket:", StringComparison.Ordinal) ? 1 : 0;
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }

        var rss = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kib = long.Parse(rss["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return new ProcessFootprint(fds, sockets, pipes, kib * 1024);
    }
}
