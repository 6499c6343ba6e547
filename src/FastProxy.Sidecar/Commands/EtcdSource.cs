using System.CommandLine;
using FastProxy.Catalog;
using FastProxy.Etcd;
using Microsoft.Extensions.Logging;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// <c>fastproxy run --etcd URL [--etcd-prefix PREFIX]</c>: the catalog comes from etcd instead of manifest
/// files. Sources are not merged (see <see cref="ServiceSources"/>).
/// </summary>
internal static class EtcdSource
{
    /// <summary>How long <c>run</c> waits for the first list before it starts serving an empty catalog (it keeps retrying).</summary>
    private static readonly TimeSpan FirstSyncWait = TimeSpan.FromSeconds(10);

    internal sealed record Settings(Uri Endpoint, string Prefix);

    public static Option<Uri?> EndpointOption() => new("--etcd")
    {
        Description = "Serve the services, pods and endpoint slices kept in etcd (v3 API) at this client URL, and follow their changes; instead of -f.",
        HelpName = "URL",
        CustomParser = static result =>
        {
            var value = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                result.AddError($"--etcd: expected an etcd client URL such as http://127.0.0.1:2379, got \"{value}\"");
                return null;
            }

            return uri;
        },
    };

    public static Option<string> PrefixOption() => new("--etcd-prefix")
    {
        Description = "The etcd key prefix: objects live at PREFIX{services|pods|endpointslices|endpoints}/NAMESPACE/NAME.",
        HelpName = "PREFIX",
        DefaultValueFactory = static _ => EtcdKeyLayout.DefaultPrefix,
        CustomParser = static result =>
        {
            var value = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (!value.StartsWith('/') || !value.EndsWith('/'))
            {
                result.AddError($"--etcd-prefix: expected a key prefix that starts and ends with '/' such as /fastproxy/, got \"{value}\"");
            }

            return value;
        },
    };

    /// <summary>Adds the options to <c>run</c>, with the rule that --etcd-prefix goes with --etcd (ServiceSources checks that exactly one source is given).</summary>
    public static void AddTo(Command command, Option<Uri?> endpoint, Option<string> prefix)
    {
        command.Options.Add(endpoint);
        command.Options.Add(prefix);
        command.Validators.Add(result =>
        {
            if (result.GetResult(endpoint) is not { Implicit: false } && result.GetResult(prefix) is { Implicit: false })
            {
                result.AddError($"{prefix.Name}: only with --etcd");
            }
        });
    }

    /// <summary>
    /// Starts the source and waits a little for its first list, so the banner shows what is served. Null
    /// when <paramref name="cancellationToken"/> (Ctrl+C, SIGTERM) stopped the wait: the source is disposed.
    /// </summary>
    public static async Task<EtcdCatalogSource?> StartAsync(ServiceCatalog catalog, Settings settings, string defaultNamespace, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var source = new EtcdCatalogSource(catalog, new EtcdCatalogOptions { Endpoint = settings.Endpoint, Prefix = settings.Prefix, DefaultNamespace = defaultNamespace }, loggerFactory);
        await source.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await source.Synced.WaitAsync(FirstSyncWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await Console.Error.WriteLineAsync($"fastproxy run: --etcd {settings.Endpoint}: not reachable yet ({source.Status.LastError}); serving nothing until it is, retrying").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await source.DisposeAsync().ConfigureAwait(false);
            return null;
        }

        return source;
    }

    /// <summary>The source's status for the admin API's <c>/api/sources</c>: <c>{"etcd":{"endpoint":...,"connected":true,...}}</c>.</summary>
    public static void WriteStatus(System.Text.Json.Utf8JsonWriter writer, EtcdCatalogSource source)
    {
        var status = source.Status;
        writer.WriteStartObject();
        writer.WriteStartObject("etcd");
        writer.WriteString("endpoint", status.Endpoint.ToString());
        writer.WriteString("prefix", status.Prefix);
        writer.WriteBoolean("connected", status.Connected);
        writer.WriteBoolean("synced", status.Synced);
        writer.WriteNumber("revision", status.Revision);
        writer.WriteNumber("objects", status.Objects);
        writer.WriteNumber("rejectedKeys", status.RejectedKeys);
        writer.WriteNumber("lists", status.Lists);
        if (status.LastError is { } error)
        {
            writer.WriteString("lastError", error);
            writer.WriteString("lastErrorAt", status.LastErrorAt?.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>The banner's line about the source.</summary>
    public static string Describe(EtcdCatalogSource source)
    {
        var status = source.Status;
        return status.Synced
            ? $"  watching etcd {status.Endpoint} {status.Prefix} from revision {status.Revision}: changes are applied as they happen"
            : $"  waiting for etcd {status.Endpoint} {status.Prefix} (retrying)";
    }
}
