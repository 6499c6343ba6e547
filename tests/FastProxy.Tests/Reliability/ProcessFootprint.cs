using System.Globalization;

namespace FastProxy.Tests.Reliability;

/// <summary>What another process holds, read from /proc: descriptors (and how many are pipes) and resident memory.</summary>
internal sealed record ProcessFootprint(int FileDescriptors, int Pipes, long ResidentBytes)
{
    public static ProcessFootprint Of(int pid)
    {
        var fds = 0;
        var pipes = 0;
        foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fd"))
        {
            fds++;
            try
            {
                pipes += new FileInfo(fd).LinkTarget?.StartsWith("pipe:", StringComparison.Ordinal) == true ? 1 : 0;
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }

        var rss = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kib = long.Parse(rss["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return new ProcessFootprint(fds, pipes, kib * 1024);
    }
}
