namespace FastProxy.Manifests;

/// <summary>How <see cref="ManifestReader"/> reads manifests, and the bounds that keep hostile input cheap.</summary>
public sealed class ManifestReadOptions
{
    /// <summary>The namespace of objects whose <c>metadata.namespace</c> is absent or empty. Defaults to <c>default</c>, as in Kubernetes.</summary>
    public string DefaultNamespace { get; set; } = Model.NamespacedName.DefaultNamespace;

    /// <summary>
    /// Whether folders are searched in their subfolders too. Defaults to false: a folder's own
    /// <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> files only, which is what a mounted ConfigMap holds
    /// (its <c>..data</c> subfolder is hidden and skipped either way).
    /// </summary>
    public bool Recursive { get; set; }

    /// <summary>The largest file read; a larger one is an error and is not read. Defaults to 16 MiB.</summary>
    public long MaxFileBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The deepest nesting of mappings and lists; deeper input is an error that ends its file. Defaults to 64 (Kubernetes objects need about 12).</summary>
    public int MaxDepth { get; set; } = 64;

    /// <summary>The most YAML or JSON nodes (scalars, mappings, lists) in one file; more is an error that ends the file. Defaults to 2,000,000.</summary>
    public int MaxNodesPerFile { get; set; } = 2_000_000;

    /// <summary>The most objects (documents and list items) in all files together; the rest is not read, with an error. Defaults to 100,000.</summary>
    public int MaxObjects { get; set; } = 100_000;

    /// <summary>The most diagnostics listed per file; the rest are counted in one closing diagnostic. Defaults to 1,000.</summary>
    public int MaxDiagnosticsPerFile { get; set; } = 1_000;
}
