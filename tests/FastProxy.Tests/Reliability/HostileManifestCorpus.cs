using System.Text;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// One adversarial manifest: its file name, its bytes, and what the diagnostic that refuses it must say
/// (substrings of one printed diagnostic: the field path with its line, and the reason).
/// </summary>
internal sealed record HostileManifest(string Name, byte[] Content, string ExpectedField, string ExpectedReason)
{
    public override string ToString() => Name;
}

/// <summary>
/// The corpus of hostile manifests: small hand-written files under <c>Reliability/HostileManifests/</c>
/// (wrong types, duplicate keys, aliases, encodings, overflow) and large ones built here (a document of
/// many MB, 150k documents, nesting 10k deep, a 1 MB scalar, a file over the size limit).
/// </summary>
internal static class HostileManifestCorpus
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Reliability", "HostileManifests");

    /// <summary>Every entry: what each one must be refused with is its own row.</summary>
    public static IReadOnlyList<HostileManifest> All { get; } = [.. Files(), .. Generated()];

    public static long TotalBytes => All.Sum(static m => (long)m.Content.Length);

    private static IEnumerable<HostileManifest> Files()
    {
        HostileManifest File(string name, string field, string reason) => new(name, System.IO.File.ReadAllBytes(Path.Combine(Folder, name)), field, reason);

        yield return File("wrong-types.yaml", "metadata.name", "must be a string, got a list (line 4, column 9)");
        yield return File("wrong-types-ports.yaml", "spec.ports[0].protocol", "must be a string, got a mapping (line 9, column 17)");
        yield return File("wrong-types.json", "spec.ports[0].port", "must be an integer, got 1.5e309 (line 1, column 113)");
        yield return File("duplicate-keys.yaml", "metadata.name", "duplicate key \"name\" (line 5, column 3)");
        yield return File("billion-laughs.yaml", "spec.a1[0]", "YAML aliases are not supported (*a0) (line 7, column 12)");
        yield return File("alias-cycle.yaml", "spec.ports[1]", "YAML aliases are not supported (*ports) (line 7, column 30)");
        yield return File("merge-keys.yaml", "spec.ports[0][<<]", "YAML aliases are not supported (*base) (line 8, column 11)");
        yield return File("anchors-across-documents.yaml", "[doc 2]: spec.ports", "YAML aliases are not supported (*shared) (line 11, column 10)");
        yield return File("tabs.yaml", "[doc 1]", "found invalid tab as indentation. (line 4, column 1)");
        yield return File("numeric-overflow.yaml", "spec.ports[0].port", "must be a 32-bit integer, got 99999999999999999999999999999999999999 (line 7, column 13)");
        yield return File("nul.yaml", "[doc 1]", "control character U+0000 is not allowed in YAML (write it as an escape such as \\u0000 in a double-quoted string); the rest of the file was not read (line 4, column 12)");
        yield return File("utf16-without-bom.yaml", "[doc 1]", "control character U+0000 is not allowed in YAML");
        yield return File("invalid-utf8.yaml", string.Empty, "not valid UTF-8 text");
        yield return File("bom-in-the-middle.yaml", "\\ufeffspec", "unknown field \"\\ufeffspec\" (did you mean \"spec\"?); ignored (line 5, column 1)");
        yield return File("truncated.json", "[doc 1]", "JSON syntax error: Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed. (line 2, column 1)");
    }

    private static IEnumerable<HostileManifest> Generated()
    {
        // A document of many MB whose one error is at its very end: the line number must still be right.
        const int annotations = 20_000;
        var value = new string('v', 380);
        var huge = new StringBuilder("apiVersion: v1\nkind: Service\nmetadata:\n  name: huge\n  annotations:\n");
        for (var i = 0; i < annotations; i++)
        {
            huge.Append("    example.com/key-").Append(i).Append(": ").Append(value).Append('\n');
        }

        huge.Append("spec:\n  ports:\n    - port: eighty\n");
        yield return Utf8("huge-document.yaml", huge, "spec.ports[0].port", $"must be an integer, got \"eighty\" (line {annotations + 8}, column 13)");

        // One byte over the file limit: refused before a byte is parsed.
        yield return new("over-the-size-limit.yaml", new byte[(16 * 1024 * 1024) + 1], string.Empty, "more than the limit of 16777216 (ManifestReadOptions.MaxFileBytes); not read");

        // 150,000 documents, each an object with an error: the list of diagnostics stays capped.
        var many = new StringBuilder().Insert(0, "--- {kind: Pod}\n", 150_000);
        yield return Utf8("many-documents.yaml", many, string.Empty, "more diagnostics in this file were not listed");

        // Nesting 10,000 deep, in flow and in block style.
        yield return Utf8("deep-flow.yaml", new StringBuilder().Insert(0, "{a: ", 10_000), string.Empty, "nesting deeper than 64 levels; the rest of the file was not read (line 1, column 257)");
        yield return Utf8("deep-block.yaml", new StringBuilder().Insert(0, "- ", 10_000).Append('x'), string.Empty, "nesting deeper than 64 levels; the rest of the file was not read (line 1, column 129)");

        // A scalar of 1 MB where a name goes.
        var scalar = new StringBuilder("apiVersion: v1\nkind: Service\nmetadata:\n  name: ").Append('n', 1024 * 1024).Append("\nspec:\n  ports: [{port: 80}]\n");
        yield return Utf8("huge-scalar.yaml", scalar, "n... (1048592 characters): metadata.name", "must be no more than 63 characters, got 1048576 (line 4, column 9)");
    }

    private static HostileManifest Utf8(string name, StringBuilder text, string field, string reason)
        => new(name, Encoding.UTF8.GetBytes(text.ToString()), field, reason);
}
