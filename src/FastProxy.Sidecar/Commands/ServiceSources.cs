using System.CommandLine;
using System.CommandLine.Parsing;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// <c>run</c> takes its services from exactly one source: manifest files (<c>-f</c>), a Kubernetes API
/// server (<c>--kubernetes</c>) or etcd (<c>--etcd</c>). Sources are not merged: an object in two of them
/// would be overwritten and removed by whichever changed last, so two sources are a usage error.
/// </summary>
internal static class ServiceSources
{
    public static void ValidateOne(CommandResult result, Option<string[]> files, Option<bool> kubernetes, Option<Uri?> etcd)
    {
        var given = new List<string>(3);
        if (result.GetResult(files) is { Implicit: false })
        {
            given.Add("-f");
        }

        if (result.GetValue(kubernetes))
        {
            given.Add("--kubernetes");
        }

        if (result.GetResult(etcd) is { Implicit: false })
        {
            given.Add("--etcd");
        }

        if (given.Count > 1)
        {
            result.AddError($"{string.Join(", ", given)}: give one source of services; sources are not merged (an object in two would be overwritten and removed by whichever changed last)");
        }
        else if (given.Count == 0)
        {
            result.AddError("Option '--filename' is required: give the manifests to serve (-f PATH), or follow a cluster's API server (--kubernetes) or an etcd (--etcd URL).");
        }
    }
}
