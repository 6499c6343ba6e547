using System.CommandLine;
using FastProxy.Catalog;
using FastProxy.Discovery;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// <c>fastproxy env -f PATH [--namespace NS]</c>: the environment variables the kubelet would give a pod
/// of that namespace for the services in the manifests, as <c>NAME=value</c> lines.
/// </summary>
internal static class EnvCommand
{
    public static Command Create()
    {
        var files = SidecarOptions.Files("Manifest file or folder (*.yaml, *.yml, *.json); repeat for several.");
        var ns = SidecarOptions.Namespace();
        ns.Description = "The pod's namespace: variables are for the services of this namespace; also the namespace of objects that give none.";
        var cidr = SidecarOptions.ServiceCidr();
        var command = new Command("env", "Print the kubelet-format service environment variables ({SVC}_SERVICE_HOST, {SVC}_PORT, ...) of a namespace, as NAME=value lines.")
        {
            files, ns, cidr,
        };
        command.SetAction(result => Run(
            result.GetRequiredValue(files),
            result.GetRequiredValue(ns),
            SidecarOptions.CatalogOptions(result.GetRequiredValue(cidr)),
            result.InvocationConfiguration.Output,
            result.InvocationConfiguration.Error));
        return command;
    }

    internal static int Run(IReadOnlyList<string> paths, string @namespace, ServiceCatalogOptions catalogOptions, TextWriter output, TextWriter error)
    {
        var set = SidecarOptions.Load(paths, @namespace);
        if (set.HasErrors)
        {
            SidecarOptions.WriteDiagnostics(error, set.Diagnostics);
            return 1;
        }

        var catalog = new ServiceCatalog(catalogOptions);
        try
        {
            catalog.Apply(set.ToCatalogUpdate());
        }
        catch (CatalogValidationException ex)
        {
            SidecarOptions.WriteDiagnostics(error, SidecarOptions.Locate(set, ex, catalogOptions));
            return 1;
        }

        foreach (var (name, value) in ServiceEnvironment.For(catalog.Current, @namespace))
        {
            output.WriteLine($"{name}={value}");
        }

        return 0;
    }
}
