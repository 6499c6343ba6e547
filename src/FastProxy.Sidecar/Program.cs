using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using FastProxy.Sidecar.Commands;
using FastProxy.Sidecar.Demo;
using FastProxy.Sidecar.Hosting;

SocketEngineSettings.PreferInlineCompletions();

// A plain Command named "fastproxy" as the root rather than RootCommand, whose name is always the
// executable's ("FastProxy.Sidecar" for this assembly, whatever the tool command is called): any Command
// can be parsed as a root, it then needs its own help and version options.
var root = new Command("fastproxy", "fastproxy: a userspace L4 load balancer with Kubernetes Service semantics. With no command it runs the embedded demo.")
{
    new HelpOption(),
    new VersionOption(),
    RunCommand.Create(),
    ValidateCommand.Create(),
    EnvCommand.Create(),
};
root.SetAction(static (_, cancellationToken) => DemoCommand.RunAsync(cancellationToken));

var parsed = root.Parse(args);
if (parsed.Action is ParseErrorAction)
{
    // Usage errors exit 2 (System.CommandLine's default is 1, which the commands use for bad manifests).
    foreach (var error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync($"fastproxy: {error.Message}").ConfigureAwait(false);
    }

    var command = parsed.CommandResult.Command == root ? "fastproxy" : "fastproxy " + parsed.CommandResult.Command.Name;
    await Console.Error.WriteLineAsync($"Try '{command} --help'.").ConfigureAwait(false);
    return SidecarOptions.UsageError;
}

// SIGTERM and Ctrl+C cancel the command's token; the command must then be let finish its drain.
// `env -- COMMAND` handles them itself: it passes them to the child and ends when the child does.
var termination = EnvCommand.RunsChild(parsed) ? (TimeSpan?)null : RunCommand.TerminationTimeout(parsed);
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = termination }).ConfigureAwait(false);
