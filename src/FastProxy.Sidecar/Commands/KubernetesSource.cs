using System.CommandLine;
using FastProxy.Catalog;
using FastProxy.Kubernetes;
using Microsoft.Extensions.Logging;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// <c>fastproxy run --kubernetes</c>: the catalog comes from the Kubernetes API (FastProxy.Kubernetes)
/// instead of manifest files. The two are not merged: -f with --kubernetes is refused, since two
/// sources writing the same objects would undo each other's changes.
/// </summary>
internal static class KubernetesSource
{
    /// <summary>How long <c>run</c> waits for the first full list before it serves what it has and goes on retrying.</summary>
    private static readonly TimeSpan FirstSyncWait = TimeSpan.FromSeconds(15);

    public static readonly Option<bool> EnabledOption = new("--kubernetes")
    {
        Description = "Serve the Services of a Kubernetes cluster (list and watch through its API) instead of manifest files. "
            + "Credentials: --kubeconfig, else the pod's service account when KUBERNETES_SERVICE_HOST is set, else $KUBECONFIG or ~/.kube/config. "
            + "With -n/--namespace, only that namespace is watched.",
    };

    private static readonly Option<string> KubeconfigOption = new("--kubeconfig")
    {
        Description = "The kubeconfig file for --kubernetes.",
        HelpName = "PATH",
    };

    private static readonly Option<string> ContextOption = new("--kube-context")
    {
        Description = "The kubeconfig context for --kubernetes (default: the file's current context).",
        HelpName = "NAME",
    };

    private static readonly Option<KubernetesEndpointsMode> EndpointsOption = new("--kube-endpoints")
    {
        Description = "Where --kubernetes takes endpoints from: EndpointSlices (default, as kube-proxy) or Pods (FastProxy's own selector controller).",
        HelpName = "EndpointSlices|Pods",
        DefaultValueFactory = static _ => KubernetesEndpointsMode.EndpointSlices,
    };

    /// <summary>What --kubernetes and its options said.</summary>
    internal sealed record Settings(string? Kubeconfig, string? Context, string? Namespace, KubernetesEndpointsMode Mode);

    /// <summary>Adds the options to <c>run</c>, with the rule that they go with --kubernetes (ServiceSources checks that exactly one source is given).</summary>
    public static void AddTo(Command command)
    {
        command.Options.Add(EnabledOption);
        command.Options.Add(KubeconfigOption);
        command.Options.Add(ContextOption);
        command.Options.Add(EndpointsOption);
        command.Validators.Add(result =>
        {
            var enabled = result.GetValue(EnabledOption);
            foreach (var option in new Option[] { KubeconfigOption, ContextOption, EndpointsOption })
            {
                if (!enabled && result.GetResult(option) is { Implicit: false })
                {
                    result.AddError($"{option.Name}: only with --kubernetes");
                }
            }
        });
    }

    /// <summary>The settings when --kubernetes was given, else null.</summary>
    public static Settings? Read(ParseResult result, Option<string> ns)
        => result.GetValue(EnabledOption)
            ? new Settings(
                result.GetValue(KubeconfigOption),
                result.GetValue(ContextOption),
                result.GetResult(ns) is { Implicit: false } ? result.GetValue(ns) : null,
                result.GetValue(EndpointsOption))
            : null;

    /// <summary>
    /// Creates and starts the source and waits (bounded) for its first full list. Null, with the reason
    /// printed, when the credentials are unusable; an unreachable API server is not fatal: the source keeps
    /// retrying and the catalog fills when it answers. Also null, with the source disposed, when
    /// <paramref name="cancellationToken"/> (Ctrl+C, SIGTERM) stopped the wait.
    /// </summary>
    public static async Task<KubernetesCatalogSource?> StartAsync(Settings settings, ServiceCatalog catalog, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var options = new KubernetesSourceOptions { KubeconfigPath = settings.Kubeconfig, Context = settings.Context, Mode = settings.Mode };
        if (settings.Namespace is { } ns)
        {
            options.Namespaces.Add(ns);
        }

        KubernetesCatalogSource source;
        try
        {
            source = KubernetesCatalogSource.Create(catalog, options, loggerFactory.CreateLogger("FastProxy.Kubernetes"));
        }
        catch (Exception ex) when (ex is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"fastproxy run: --kubernetes: no usable credentials: {ex.Message}").ConfigureAwait(false);
            return null;
        }

        source.Start();
        try
        {
            await source.WaitForSyncAsync(cancellationToken).WaitAsync(FirstSyncWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await Console.Error.WriteLineAsync($"fastproxy run: --kubernetes: not in sync with the API server after {FirstSyncWait.TotalSeconds:0} s ({source.Status.LastError ?? "no answer yet"}); serving what is listed, retrying in the background.").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await source.DisposeAsync().ConfigureAwait(false);
            return null;
        }

        return source;
    }

    /// <summary>The banner's line about the source.</summary>
    public static string Describe(Settings settings, KubernetesCatalogSource source)
    {
        var status = source.Status;
        var where = settings.Namespace is null ? "all namespaces" : $"namespace {settings.Namespace}";
        var versions = string.Join(", ", status.ResourceVersions.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}@{p.Value}"));
        return $"  watching the Kubernetes API: {where}, endpoints from {settings.Mode}; {(status.Synced ? "in sync" : "not in sync yet")} ({versions})";
    }
}
