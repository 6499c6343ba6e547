using System.Diagnostics;
using System.Text;

namespace FastProxy.Manifests.Tests;

/// <summary>Hostile input: every bound holds, nothing throws, and it all stays fast.</summary>
public sealed class ManifestLimitsTests
{
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(5);

    private static ManifestSet Timed(Func<ManifestSet> load)
    {
        var watch = Stopwatch.StartNew();
        var set = load();
        Assert.True(watch.Elapsed < Quick, $"took {watch.Elapsed}");
        return set;
    }

    [Fact]
    public void AliasBomb_IsRefusedWithoutExpanding()
    {
        // Billion laughs: 9 levels of 9 aliases would be 9^9 (387 million) strings if expanded.
        var yaml = new StringBuilder("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i <= 9; i++)
        {
            yaml.Append(CultureInfoInvariant($"l{i}: &l{i} [")).AppendJoin(", ", Enumerable.Repeat($"*l{i - 1}", 9)).Append("]\n");
        }

        var set = Timed(() => Manifests.Yaml(yaml.ToString()));

        Assert.True(set.HasErrors);
        Assert.Equal("test.yaml[doc 1]: l1[0]: YAML aliases are not supported (*l0) (line 2, column 10)", set.Diagnostics[0].ToString());
        Assert.Equal(81 + 1, set.Diagnostics.Length); // 81 aliases, then "kind: required"
    }

    [Theory]
    [InlineData("test.yaml")]
    [InlineData("test.json")]
    public void DeepFlowNesting_StopsAtTheDepthLimit(string name)
    {
        var set = Timed(() => ManifestReader.Parse(new string('[', 1_000_000), name));
        var error = Assert.Single(set.Diagnostics);
        Assert.EndsWith("]...: nesting deeper than 64 levels; the rest of the file was not read (line 1, column 65)", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void DeepBlockNesting_StopsAtTheDepthLimit()
    {
        var yaml = string.Concat(Enumerable.Range(0, 500).Select(i => new string(' ', i) + "a:\n"));
        var set = Timed(() => Manifests.Yaml(yaml, new ManifestReadOptions { MaxDepth = 8 }));
        Manifests.Lines(["test.yaml[doc 1]: a.a.a.a.a.a.a.a: nesting deeper than 8 levels; the rest of the file was not read (line 9, column 9)"], set.Printed());
    }

    [Fact]
    public void NestingWithinTheLimit_Loads()
    {
        // A real object is about 12 levels deep: well within the default.
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {x: y}}\nspec: {affinity: {nodeAffinity: {a: {b: [{c: [{d: [e]}]}]}}}}\nstatus: {podIP: 127.0.1.1}\n", new ManifestReadOptions { MaxDepth = 12 });
        Assert.Empty(set.Diagnostics);
        Assert.Single(set.Pods);
    }

    [Fact]
    public void TooManyNodes_StopsTheFile()
    {
        var yaml = "[" + string.Join(",", Enumerable.Repeat("1", 1000)) + "]";
        var set = Manifests.Yaml(yaml, new ManifestReadOptions { MaxNodesPerFile = 100 });
        Manifests.Lines(["test.yaml[doc 1]: [99]: more than 100 nodes in one file; the rest of the file was not read (line 1, column 200)"], set.Printed());
    }

    [Fact]
    public void FileLargerThanTheLimit_IsNotRead()
    {
        using var folder = new TempFolder();
        const int limit = 16 * 1024 * 1024;
        var big = folder.Write("big.yaml", new byte[limit + 1]);
        var exact = folder.Write("exact.yaml", Encoding.UTF8.GetBytes("# " + new string('x', 100)));

        var set = ManifestReader.Load([big, exact]);

        Manifests.Lines([$"{big}: file is {limit + 1} bytes, more than the limit of {limit} (ManifestReadOptions.MaxFileBytes); not read"], set.Printed());
        Manifests.Lines(
            ["big.yaml: file is 11 bytes, more than the limit of 10 (ManifestReadOptions.MaxFileBytes); not read"],
            ManifestReader.Parse("# 123456789", "big.yaml", new ManifestReadOptions { MaxFileBytes = 10 }).Printed());
    }

    [Fact]
    public void TooManyObjects_StopsTheLoad()
    {
        using var folder = new TempFolder();
        var pods = string.Join("---\n", Enumerable.Range(1, 5).Select(i => $"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nstatus: {{podIP: 127.0.1.{i}}}\n"));
        var first = folder.Write("a.yaml", pods);
        folder.Write("b.yaml", pods.Replace("name: p", "name: q", StringComparison.Ordinal));

        var set = ManifestReader.Load([folder.Path], new ManifestReadOptions { MaxObjects = 3 });

        Assert.Equal(["p1", "p2", "p3"], set.Pods.Select(p => p.Name));
        Manifests.Lines([$"{first}[doc 4]: more than 3 objects; the rest was not read (line 16, column 1)"], set.Printed());
    }

    [Fact]
    public void ManyDuplicateKeys_AreCappedInTheList()
    {
        var yaml = "{" + string.Join(", ", Enumerable.Repeat("k: 1", 5000)) + "}";
        var set = Timed(() => Manifests.Yaml(yaml));
        Assert.Equal(1001, set.Diagnostics.Length);
        Assert.Equal("test.yaml: 4000 more diagnostics in this file were not listed", set.Diagnostics[^1].ToString());
    }

    [Theory]
    [InlineData("\0")]
    [InlineData("%YAML 9.9\n---\na: b")]
    [InlineData("%TAG ! tag:x,2000:\n--- !foo\na: b")]
    [InlineData("!!binary x")]
    [InlineData("? ")]
    [InlineData("[")]
    [InlineData("{")]
    [InlineData("- - - - -")]
    [InlineData("a: 'unterminated")]
    [InlineData("a: \"\\uD800\"")]
    [InlineData("&a a: *a")]
    [InlineData("*unknown")]
    [InlineData("kind: Service\nmetadata: {name: [[[[]]]]}\nspec: {ports: [[{port: 80}]]}")]
    [InlineData("apiVersion: v1\nkind: List\nitems: [1, null, [], {kind: Pod}]")]
    [InlineData("apiVersion: v1\nkind: List\nitems: {a: b}")]
    [InlineData("\uFEFF\uFEFFkind: Pod")]
    public void OddInput_NeverThrows(string text)
    {
        Assert.NotNull(Manifests.Yaml(text));
        Assert.NotNull(Manifests.Json(text));
    }

    [Fact]
    public void RandomBytes_NeverThrow()
    {
        var random = new Random(12345);
        var alphabet = "{}[]:,-?&*!|>'\"%@`#\n\t 0123456789abcdefkind apiVersion: v1 Service Pod metadata name spec ports\\u0000".ToCharArray();
        for (var i = 0; i < 500; i++)
        {
            var text = new string([.. Enumerable.Range(0, random.Next(1, 200)).Select(_ => alphabet[random.Next(alphabet.Length)])]);
            Manifests.Yaml(text);
            Manifests.Json(text);
        }
    }

    private static string CultureInfoInvariant(FormattableString text) => FormattableString.Invariant(text);
}
