using System.CommandLine;
using FastProxy.Manifests;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// <c>fastproxy validate -f PATH...</c>: reads the manifests, checks them against the catalog's rules
/// too, prints every error and warning one a line and a summary; exit 1 on any error.
/// </summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var files = SidecarOptions.Files("Manifest file or folder (*.yaml, *.yml, *.json) to check; repeat for several.");
        var ns = SidecarOptions.Namespace();
        var cidr = SidecarOptions.ServiceCidr();
        var command = new Command("validate", "Check manifests: print every error and warning with file, document, object, field and line; exit 1 on errors.")
        {
            files, ns, cidr,
        };
        command.SetAction(result => Run(
            result.GetRequiredValue(files),
            result.GetRequiredValue(ns),
            SidecarOptions.CatalogOptions(result.GetRequiredValue(cidr)),
            result.InvocationConfiguration.Output));
        return command;
    }

    internal static int Run(IReadOnlyList<string> paths, string defaultNamespace, FastProxy.Catalog.ServiceCatalogOptions catalogOptions, TextWriter output)
    {
        var set = SidecarOptions.Load(paths, defaultNamespace);
        ManifestDiagnostic[] diagnostics = [.. set.Diagnostics, .. set.ValidateWithCatalog(catalogOptions)];
        SidecarOptions.WriteDiagnostics(output, diagnostics);
        var errors = diagnostics.Count(d => d.Severity == ManifestSeverity.Error);
        var warnings = diagnostics.Length - errors;
        var files = CountFiles(paths);
        output.WriteLine($"{errors} error(s), {warnings} warning(s) in {files} file(s)");
        return errors > 0 ? 1 : 0;
    }

    /// <summary>The files a load reads: the files named, plus each folder's manifest files (as the reader picks them).</summary>
    private static int CountFiles(IEnumerable<string> paths)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                seen.Add(Path.GetFullPath(path));
            }
            else if (Directory.Exists(path))
            {
                foreach (var file in ManifestFiles.InFolder(path))
                {
                    seen.Add(file);
                }
            }
        }

        return seen.Count;
    }
}
