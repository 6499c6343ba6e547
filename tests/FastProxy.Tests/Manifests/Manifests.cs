namespace FastProxy.Manifests.Tests;

/// <summary>Shortcuts for reading manifests held in a string and looking at the result.</summary>
internal static class Manifests
{
    public static ManifestSet Yaml(string yaml, ManifestReadOptions? options = null) => ManifestReader.Parse(yaml, "test.yaml", options);

    public static ManifestSet Json(string json, ManifestReadOptions? options = null) => ManifestReader.Parse(json, "test.json", options);

    /// <summary>Every diagnostic as printed.</summary>
    public static string[] Printed(this ManifestSet set) => [.. set.Diagnostics.Select(d => d.ToString())];

    /// <summary>The errors as printed.</summary>
    public static string[] Errors(this ManifestSet set) => [.. set.Diagnostics.Where(d => d.Severity == ManifestSeverity.Error).Select(d => d.ToString())];

    /// <summary>The warnings as printed.</summary>
    public static string[] Warnings(this ManifestSet set) => [.. set.Diagnostics.Where(d => d.Severity == ManifestSeverity.Warning).Select(d => d.ToString())];

    /// <summary>Compares line lists as one text, so a failure shows where the lines differ.</summary>
    public static void Lines(IEnumerable<string> expected, IEnumerable<string> actual)
        => Assert.Equal(string.Join('\n', expected), string.Join('\n', actual));

    /// <summary>A Service document with the given spec lines (indented under spec:).</summary>
    public static string Service(string spec, string name = "web", string extraMetadata = "") => $"""
        apiVersion: v1
        kind: Service
        metadata:
          name: {name}
        {extraMetadata}
        spec:
        {Indent(spec)}
        """;

    public static string Indent(string text) => string.Join('\n', text.Split('\n').Select(l => "  " + l));
}
