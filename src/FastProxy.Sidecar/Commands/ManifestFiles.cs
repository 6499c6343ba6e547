namespace FastProxy.Sidecar.Commands;

/// <summary>
/// Which files a set of manifest paths stands for, as <c>ManifestReader</c> picks them (a folder's
/// <c>*.yaml</c>, <c>*.yml</c>, <c>*.json</c>, not in subfolders, no dot-names), and a cheap fingerprint
/// of them (path, size, modification time) for the watcher's safety-net poll.
/// </summary>
internal static class ManifestFiles
{
    public static bool IsManifestName(string name)
        => !name.StartsWith('.')
            && (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
                || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
                || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase));

    public static IEnumerable<string> InFolder(string folder)
    {
        try
        {
            return Directory.EnumerateFiles(folder)
                .Where(f => IsManifestName(Path.GetFileName(f)))
                .Select(Path.GetFullPath)
                .Order(StringComparer.Ordinal)
                .ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>One line per file (or missing path): path, size and last write time; equal text, nothing changed.</summary>
    public static string Fingerprint(IEnumerable<string> paths)
    {
        var text = new System.Text.StringBuilder();
        foreach (var path in paths)
        {
            var files = Directory.Exists(path) ? InFolder(path) : [Path.GetFullPath(path)];
            foreach (var file in files)
            {
                var info = new FileInfo(file);
                text.Append(file).Append('|');
                if (info.Exists)
                {
                    text.Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks);
                }
                else
                {
                    text.Append("missing");
                }

                text.Append('\n');
            }
        }

        return text.ToString();
    }
}
