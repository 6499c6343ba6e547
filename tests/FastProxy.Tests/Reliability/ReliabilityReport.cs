using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// One row of the docs/reliability.md table: what a scenario held, what it injected or fed in, and
/// what was lost. A test records its row after its assertions ran (so a row means the scenario passed
/// with these figures), to the test output and, when <c>FASTPROXY_RELIABILITY_REPORT</c> names a file,
/// appended to it as a Markdown table row: the soak command prints that file as its table.
/// </summary>
internal sealed record ReliabilityRow(string Scenario, string LoadHeld, string Injected, string Lost, string Reproduce)
{
    public const string ReportVariable = "FASTPROXY_RELIABILITY_REPORT";
    public const string Header = "| scenario | load held | faults injected / inputs tried | lost | reproduce |\n|---|---|---|---|---|";
    private static readonly Lock FileLock = new();

    // Encoding.UTF8 would start the file with a byte order mark, which then sat in the soak table's first row.
    private static readonly UTF8Encoding NoByteOrderMark = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>The command that reproduces one test of the suite.</summary>
    public static string FilterCommand(string testClass) =>
        string.Create(CultureInfo.InvariantCulture, $"`dotnet test FastProxy.sln -c Release --filter FullyQualifiedName~Reliability.{testClass}`");

    public string ToMarkdown() => $"| {Scenario} | {LoadHeld} | {Injected} | {Lost} | {Reproduce} |";

    /// <summary>Writes the row to the test output and, for the soak command, to its report file.</summary>
    public void Record(ITestOutputHelper output)
    {
        output.WriteLine(Header);
        output.WriteLine(ToMarkdown());
        var path = Environment.GetEnvironmentVariable(ReportVariable);
        if (string.IsNullOrWhiteSpace(path))
        {
            return;
        }

        lock (FileLock)
        {
            File.AppendAllText(path, ToMarkdown() + "\n", NoByteOrderMark);
        }
    }
}
