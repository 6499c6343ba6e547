using System.Globalization;
using System.Net;

namespace FastProxy.Tests.Reliability;

/// <summary>One socket a process has bound and listens or receives on, as the kernel reports it.</summary>
internal sealed record ListeningSocket(string Protocol, IPEndPoint EndPoint)
{
    public override string ToString() => $"{Protocol} {EndPoint}";
}

/// <summary>
/// The sockets a process listens on, from the kernel rather than from what the process says: the
/// <c>socket:[inode]</c> links in <c>/proc/PID/fd</c> matched against <c>/proc/PID/net/{tcp,tcp6,udp,udp6}</c>
/// (TCP in state LISTEN, UDP unconnected).
/// </summary>
internal static class ListeningSockets
{
    private const string TcpListen = "0A";
    private const string UdpUnconnected = "07";

    public static IReadOnlyList<ListeningSocket> Of(int pid)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                inodes.Add(target["socket:[".Length..^1]);
            }
        }

        var sockets = new List<ListeningSocket>();
        foreach (var (table, state) in new[] { ("tcp", TcpListen), ("tcp6", TcpListen), ("udp", UdpUnconnected), ("udp6", UdpUnconnected) })
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/net/{table}").Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[3] == state && inodes.Contains(fields[9]))
                {
                    sockets.Add(new ListeningSocket(table.TrimEnd('6'), Parse(fields[1])));
                }
            }
        }

        return sockets;
    }

    /// <summary>Parses "0100007F:2695": the address as 32-bit words in host (little-endian) order, the port in hex.</summary>
    private static IPEndPoint Parse(string field)
    {
        var (hex, port) = (field[..field.IndexOf(':', StringComparison.Ordinal)], field[(field.IndexOf(':', StringComparison.Ordinal) + 1)..]);
        var bytes = new byte[hex.Length / 2];
        for (var word = 0; word < bytes.Length / 4; word++)
        {
            var value = uint.Parse(hex.AsSpan(word * 8, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            BitConverter.TryWriteBytes(bytes.AsSpan(word * 4), value);
        }

        return new IPEndPoint(new IPAddress(bytes), int.Parse(port, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }
}
