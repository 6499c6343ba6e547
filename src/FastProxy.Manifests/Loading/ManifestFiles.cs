namespace FastProxy.Manifests.Loading;

/// <summary>
/// Expands the paths given into the files to read. A file is read whatever its name; a folder gives its
/// <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> files in ordinal order of their relative paths (the same
/// order on every machine), its subfolders only when <see cref="ManifestReadOptions.Recursive"/>, and
/// never entries whose name starts with a dot (a mounted ConfigMap's <c>..data</c>, editor files).
/// </summary>
internal static class ManifestFiles
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    public static List<string> Expand(IEnumerable<string> paths, bool recursive, DiagnosticBag bag)
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                bag.Add(FileError(path ?? string.Empty, "empty path"));
                continue;
            }

            try
            {
                if (Directory.Exists(path))
                {
                    var found = InFolder(path, recursive);
                    if (found.Count == 0)
                    {
                        bag.Add(new ManifestDiagnostic
                        {
                            Severity = ManifestSeverity.Warning,
                            Location = new ManifestLocation { FilePath = path },
                            Message = "folder holds no *.yaml, *.yml or *.json file",
                        });
                    }

                    foreach (var file in found)
                    {
                        Add(file);
                    }
                }
                else if (File.Exists(path))
                {
                    Add(path);
                }
                else
                {
                    bag.Add(FileError(path, "no such file or folder"));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException or ArgumentException or NotSupportedException)
            {
                bag.Add(FileError(path, $"cannot read: {ex.Message}"));
            }
        }

        return files;

        void Add(string file)
        {
            // The same file named twice (a folder and a file in it) is read once.
            if (seen.Add(Path.GetFullPath(file)))
            {
                files.Add(file);
            }
        }
    }

    public static ManifestDiagnostic FileError(string path, string message) => new()
    {
        Severity = ManifestSeverity.Error,
        Location = new ManifestLocation { FilePath = path },
        Message = message,
    };

    public static bool IsJson(string path) => path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    private static List<string> InFolder(string folder, bool recursive)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = recursive,
            IgnoreInaccessible = false,
            AttributesToSkip = 0,
            ReturnSpecialDirectories = false,
            MatchType = MatchType.Simple,
        };
        var found = new List<(string Relative, string Full)>();
        foreach (var file in Directory.EnumerateFiles(folder, "*", options))
        {
            var relative = Path.GetRelativePath(folder, file);
            if (IsHidden(relative) || !Extensions.Any(e => relative.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            found.Add((relative, Path.Combine(folder, relative)));
        }

        found.Sort(static (a, b) => string.CompareOrdinal(a.Relative, b.Relative));
        return [.. found.Select(static f => f.Full)];
    }

    private static bool IsHidden(string relative)
        => relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Any(static segment => segment.StartsWith('.'));
}
