using System.CommandLine;
using FastProxy.Sidecar.Demo;
using FastProxy.Sidecar.Hosting;

SocketEngineSettings.PreferInlineCompletions();

var root = new RootCommand("fastproxy: a userspace L4 load balancer with Kubernetes Service semantics. With no command it runs the embedded demo.");
root.SetAction(static (_, cancellationToken) => DemoCommand.RunAsync(cancellationToken));
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
