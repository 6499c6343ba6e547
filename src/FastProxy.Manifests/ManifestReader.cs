using FastProxy.Manifests.Loading;

namespace FastProxy.Manifests;

/// <summary>
/// Reads Kubernetes manifests (Service, Pod, Endpoints, EndpointSlice; YAML or JSON; lists too) into
/// FastProxy's model. Reading never throws for bad input: every problem, down to an unreadable path,
/// is a <see cref="ManifestDiagnostic"/> in the result, and reading goes on past it to report them all.
/// </summary>
public static class ManifestReader
{
    /// <summary>
    /// Reads files and folders. A file is read whatever its name (<c>.json</c> files as JSON, others as
    /// YAML); a folder gives its <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> files in ordinal order of
    /// name, not its subfolders unless <see cref="ManifestReadOptions.Recursive"/>, and never hidden
    /// (dot) entries.
    /// </summary>
    /// <param name="paths">Files and folders, read in the order given.</param>
    /// <param name="options">Settings; defaults apply when null.</param>
    /// <returns>The objects and diagnostics.</returns>
    public static ManifestSet Load(IEnumerable<string> paths, ManifestReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        options ??= new ManifestReadOptions();
        var session = new LoadSession(options);
        foreach (var file in ManifestFiles.Expand(paths, options.Recursive, session.Bag))
        {
            if (session.IsFull)
            {
                break;
            }

            session.ReadFile(file);
        }

        return session.Finish();
    }

    /// <summary>Reads manifests held in memory, as if they were the content of the file <paramref name="fileName"/>.</summary>
    /// <param name="content">The text: YAML, or JSON when <paramref name="fileName"/> ends in <c>.json</c>.</param>
    /// <param name="fileName">The name diagnostics give, and whose extension picks the format.</param>
    /// <param name="options">Settings; defaults apply when null.</param>
    /// <returns>The objects and diagnostics.</returns>
    public static ManifestSet Parse(string content, string fileName, ManifestReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(fileName);
        options ??= new ManifestReadOptions();
        var session = new LoadSession(options);
        session.Bag.BeginFile(fileName);
        if (System.Text.Encoding.UTF8.GetByteCount(content) is var size && size > options.MaxFileBytes)
        {
            // The same bound as for a file: in-memory input (a fuzzer's, an admin API's) is no less hostile.
            session.Bag.Add(ManifestFiles.FileError(fileName, FileContent.TooBig(size, options.MaxFileBytes)));
        }
        else
        {
            session.ReadContent(fileName, null, content);
        }

        session.Bag.EndFile();
        return session.Finish();
    }
}
