using System.CommandLine;
using System.Diagnostics;
using FastProxy.Catalog;
using FastProxy.Discovery;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// <c>fastproxy env -f PATH [--namespace NS] [-- COMMAND [ARGS...]]</c>: the environment variables the
/// kubelet would give a pod of that namespace for the services in the manifests, as <c>NAME=value</c>
/// lines; or, given a command, that command run with them added to the current environment.
/// </summary>
internal static class EnvCommand
{
    public static Command Create()
    {
        var files = SidecarOptions.Files("Manifest file or folder (*.yaml, *.yml, *.json); repeat for several.");
        var ns = SidecarOptions.Namespace();
        ns.Description = "The pod's namespace: variables are for the services of this namespace; also the namespace of objects that give none.";
        var cidr = SidecarOptions.ServiceCidr();
        var command = new Command("env", "Print the kubelet-format service environment variables ({SVC}_SERVICE_HOST, {SVC}_PORT, ...) of a namespace, as NAME=value lines; or, after --, run a command with them added to the environment and exit with its exit code.")
        {
            files, ns, cidr, ChildCommand,
        };
        command.SetAction((result, _) => RunAsync(
            result.GetRequiredValue(files),
            result.GetRequiredValue(ns),
            SidecarOptions.CatalogOptions(result.GetRequiredValue(cidr)),
            result.GetValue(ChildCommand) ?? [],
            result.InvocationConfiguration.Output,
            result.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>
    /// True when the command line runs a child: the child's signals are then this command's own business
    /// (<see cref="ChildProcess"/>), not a termination for System.CommandLine to time out.
    /// </summary>
    public static bool RunsChild(ParseResult result)
        => result.CommandResult.Command.Name == "env" && result.GetValue(ChildCommand) is { Length: > 0 };

    private static readonly Argument<string[]> ChildCommand = new("command")
    {
        Description = "After --: the command to run with the variables, and its arguments.",
        HelpName = "COMMAND",
        Arity = ArgumentArity.ZeroOrMore,
    };

    internal static async Task<int> RunAsync(IReadOnlyList<string> paths, string @namespace, ServiceCatalogOptions catalogOptions, IReadOnlyList<string> childCommand, TextWriter output, TextWriter error)
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

        if (childCommand.Count > 0)
        {
            var start = new ProcessStartInfo(childCommand[0], childCommand.Skip(1));
            ServiceEnvironment.ApplyTo(start, catalog.Current, @namespace);
            return await ChildProcess.RunAsync(start, error).ConfigureAwait(false);
        }

        foreach (var (name, value) in ServiceEnvironment.For(catalog.Current, @namespace))
        {
            output.WriteLine($"{name}={value}");
        }

        return 0;
    }
}
