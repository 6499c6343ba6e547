using System.Net;
using System.Text.RegularExpressions;
using FastProxy.Tests;

namespace FastProxy.Dns.Tests;

/// <summary>One record line of dig's output: <c>name ttl class type data</c>.</summary>
internal sealed record DigRecord(string Name, int Ttl, string Type, string Data);

/// <summary>What dig printed, parsed: status, header flags and the sections.</summary>
internal sealed record DigResult(string Status, IReadOnlySet<string> Flags, IReadOnlyList<DigRecord> Answer, IReadOnlyList<DigRecord> Authority, IReadOnlyList<DigRecord> Additional, string Output)
{
    public IEnumerable<string> AnswerData(string type) => Answer.Where(r => r.Type == type).Select(r => r.Data);
}

/// <summary>
/// Runs Debian's <c>dig</c> (bind9-dnsutils), an independent client, against a server on loopback: one
/// try, a short timeout, killed by PID if it hangs.
/// </summary>
internal static partial class Dig
{
    public static async Task<DigResult> QueryAsync(IPEndPoint server, params string[] arguments)
    {
        var dig = ExternalTool.Require("dig", "bind9-dnsutils");
        string[] all = ["@" + server.Address, "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "+time=3", "+tries=1", .. arguments];
        var result = await ExternalTool.RunAsync(dig, all, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"dig {string.Join(' ', all)} exited {result.ExitCode}:\n{result.StandardOutput}{result.StandardError}");
        return Parse(result.StandardOutput);
    }

    public static DigResult Parse(string output)
    {
        var status = Status().Match(output);
        Assert.True(status.Success, "dig printed no header:\n" + output);
        var flags = Flags().Match(output).Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        return new DigResult(status.Groups[1].Value, flags, Section(output, "ANSWER"), Section(output, "AUTHORITY"), Section(output, "ADDITIONAL"), output);
    }

    private static List<DigRecord> Section(string output, string name)
    {
        var records = new List<DigRecord>();
        var lines = output.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith($";; {name} SECTION:", StringComparison.Ordinal));
        for (var i = start + 1; start >= 0 && i < lines.Length && lines[i].Trim().Length > 0; i++)
        {
            var fields = lines[i].Split((char[])['\t', ' '], 5, StringSplitOptions.RemoveEmptyEntries);
            records.Add(new DigRecord(fields[0], int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture), fields[3], fields.Length > 4 ? fields[4].Trim() : string.Empty));
        }

        return records;
    }

    [GeneratedRegex(@"->>HEADER<<- opcode: \w+, status: (\w+)")]
    private static partial Regex Status();

    [GeneratedRegex(@";; flags:([a-z ]*);")]
    private static partial Regex Flags();
}
