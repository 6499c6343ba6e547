using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using FastProxy.Catalog;
using FastProxy.Dns;
using FastProxy.Manifests;
using FastProxy.Model;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// The options the commands share, and every parser of an option value, in one place. A bad value is a
/// parse error that names the option (<c>--admin: expected ADDR:PORT, got "x"</c>); Program turns parse
/// errors into exit code 2.
/// </summary>
internal static class SidecarOptions
{
    /// <summary>Exit code of a usage error (bad option, missing argument), as the usual Unix tools.</summary>
    public const int UsageError = 2;

    /// <summary>The catalog's own default range, inside 127.0.0.0/8, so virtual IPs bind with no setup.</summary>
    public const string DefaultServiceCidr = "127.96.0.0/12";

    /// <summary>What an address option parses <c>off</c> to; <see cref="EndPointOrNull"/> turns it into null.</summary>
    private static readonly IPEndPoint Off = new(IPAddress.None, 0);

    public static Option<string[]> Files(string description) => new("--filename", "-f")
    {
        Description = description,
        HelpName = "PATH",
        Required = true,
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = true,
    };

    public static Option<string> Namespace() => new("--namespace", "-n")
    {
        Description = "With -f: the namespace of objects whose metadata.namespace is absent or empty. With --kubernetes: the one namespace watched (default: all). With --etcd: the namespace of values that name none; a value's namespace must match its key's.",
        HelpName = "NS",
        DefaultValueFactory = static _ => NamespacedName.DefaultNamespace,
        CustomParser = static result =>
        {
            var value = Single(result);
            if (value.Length == 0)
            {
                result.AddError(Expected(result, "a namespace name", value));
            }

            return value;
        },
    };

    public static Option<IPNetwork> ServiceCidr() => new("--service-cidr")
    {
        Description = "The range virtual IPs are allocated from when a Service gives no clusterIP.",
        HelpName = "CIDR",
        DefaultValueFactory = static _ => IPNetwork.Parse(DefaultServiceCidr),
        CustomParser = static result =>
        {
            var value = Single(result);
            // IPNetwork.TryParse accepts host bits ("10.0.0.1/8" is refused by it): say what is expected.
            if (!value.Contains('/', StringComparison.Ordinal) || !IPNetwork.TryParse(value, out var network))
            {
                result.AddError(Expected(result, "a CIDR such as 127.96.0.0/12", value));
                return default;
            }

            return network;
        },
    };

    public static Option<IPAddress[]> NodeAddresses() => new("--node-address")
    {
        Description = "Address NodePort and LoadBalancer services listen on at their node ports; repeat for several. Default 0.0.0.0 (every address).",
        HelpName = "IP",
        Arity = ArgumentArity.OneOrMore,
        DefaultValueFactory = static _ => [IPAddress.Any],
        CustomParser = static result =>
        {
            var addresses = new List<IPAddress>();
            foreach (var token in result.Tokens)
            {
                if (IPAddress.TryParse(token.Value, out var address) && token.Value.Contains(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? '.' : ':', StringComparison.Ordinal))
                {
                    addresses.Add(address);
                }
                else
                {
                    result.AddError(Expected(result, "an IP address", token.Value));
                }
            }

            return [.. addresses];
        },
    };

    public static Option<string?> NodeName() => new("--node-name")
    {
        Description = "This node's name: endpoints with this spec.nodeName are local (traffic policy Local, PreferSameNode).",
        HelpName = "NAME",
    };

    public static Option<string?> Zone() => new("--zone")
    {
        Description = "This node's zone, for trafficDistribution PreferSameZone.",
        HelpName = "ZONE",
    };

    /// <summary>The admin address; <see cref="EndPointOrNull"/> of its value is null for <c>--admin off</c>.</summary>
    public static Option<IPEndPoint?> Admin() => new("--admin")
    {
        Description = "Where the admin HTTP server (dashboard, /metrics, /api/*, /healthz) listens, or \"off\".",
        HelpName = "ADDR:PORT|off",
        DefaultValueFactory = static _ => new IPEndPoint(IPAddress.Loopback, 9901),
        CustomParser = static result => EndPointOrOff(result, "ADDR:PORT (such as 127.0.0.1:9901) or off"),
    };

    /// <summary>The embedded DNS server's address; <see cref="EndPointOrNull"/> of its value is null for <c>--dns off</c>.</summary>
    public static Option<IPEndPoint?> Dns() => new("--dns")
    {
        Description = "Where the embedded DNS server answers for the cluster domain (UDP and TCP), or \"off\".",
        HelpName = "ADDR:PORT|off",
        DefaultValueFactory = static _ => ClusterDnsOptions.DefaultEndPoint,
        CustomParser = static result => EndPointOrOff(result, "ADDR:PORT (such as 127.0.0.1:5353) or off"),
    };

    public static Option<string> ClusterDomain() => new("--cluster-domain")
    {
        Description = "The DNS domain services are named in: <service>.<namespace>.svc.<domain>.",
        HelpName = "DOMAIN",
        DefaultValueFactory = static _ => new ClusterDnsOptions().ClusterDomain,
        CustomParser = static result =>
        {
            var value = Single(result);
            try
            {
                new ClusterDnsOptions { ClusterDomain = value }.Validate();
            }
            catch (ArgumentException)
            {
                result.AddError(Expected(result, "a DNS name of letters, digits and '-' such as cluster.local", value));
            }

            return value.TrimEnd('.');
        },
    };

    /// <summary>The variable <see cref="AdminToken"/> falls back to.</summary>
    public const string AdminTokenVariable = "FASTPROXY_ADMIN_TOKEN";

    /// <summary>
    /// The admin token. A command line is readable by every local user (<c>ps</c>, <c>/proc/PID/cmdline</c>),
    /// so the token can come from <see cref="AdminTokenVariable"/> instead, which only the process's own user sees.
    /// </summary>
    public static Option<string?> AdminToken() => new("--admin-token")
    {
        Description = $"Require \"Authorization: Bearer TOKEN\" on every admin path except /healthz. Prefer setting {AdminTokenVariable}: other users can read a command line, not the environment.",
        HelpName = "TOKEN",
    };

    /// <summary>
    /// The token given with <c>--admin-token</c>, else the one in <see cref="AdminTokenVariable"/>. Not a default
    /// value of the option: help prints defaults, and must not print the token.
    /// </summary>
    public static string? AdminTokenOrVariable(string? given)
        => given ?? (Environment.GetEnvironmentVariable(AdminTokenVariable) is { Length: > 0 } token ? token : null);

    public static Option<bool> Watch() => new("--watch")
    {
        Description = "Reload when the manifests change (the default).",
    };

    public static Option<bool> NoWatch() => new("--no-watch")
    {
        Description = "Read the manifests once; do not reload.",
    };

    /// <summary>
    /// SO_REUSEPORT on the service listeners: several <c>run</c> processes serving the same manifests share
    /// each virtual IP and port, and the kernel spreads new connections over them (the nginx/HAProxy
    /// multi-worker model). One process's connections are bounded by its file-descriptor limit (two
    /// descriptors per proxied connection); workers add up.
    /// </summary>
    public static Option<bool> ReusePort() => new("--reuse-port")
    {
        Description = "Share the service listeners with other fastproxy processes started with --reuse-port (SO_REUSEPORT): the kernel spreads connections over them. Any process of the same user can then bind those ports too.",
    };

    public static Option<TimeSpan> DrainTimeout() => new("--drain-timeout")
    {
        Description = "On SIGTERM or Ctrl+C, how long open connections may finish before they are reset (e.g. 30s, 500ms, 2m).",
        HelpName = "DURATION",
        DefaultValueFactory = static _ => TimeSpan.FromSeconds(30),
        CustomParser = static result =>
        {
            var value = Single(result);
            if (!TryParseDuration(value, out var duration) || duration > TimeSpan.FromDays(1))
            {
                result.AddError(Expected(result, "a duration such as 30s, 500ms or 2m (at most 1 day)", value));
                return default;
            }

            return duration;
        },
    };

    /// <summary>Parses a duration as manifests write them (<c>500ms</c>, <c>30s</c>, <c>1m30s</c>, a number of seconds) or <c>hh:mm:ss</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
        => FastProxy.Manifests.Mapping.Durations.TryParse(text, out duration)
            || (text.Contains(':', StringComparison.Ordinal)
                && TimeSpan.TryParse(text.Trim(), CultureInfo.InvariantCulture, out duration)
                && duration >= TimeSpan.Zero);

    /// <summary>Reads the manifests the way every command does.</summary>
    public static ManifestSet Load(IEnumerable<string> paths, string defaultNamespace)
        => ManifestReader.Load(paths, new ManifestReadOptions { DefaultNamespace = defaultNamespace });

    /// <summary>The catalog settings of <c>run</c> and <c>env</c>.</summary>
    public static ServiceCatalogOptions CatalogOptions(IPNetwork serviceCidr, IEnumerable<IPAddress>? nodeAddresses = null, string? nodeName = null, string? zone = null)
    {
        var options = new ServiceCatalogOptions { ServiceCidr = serviceCidr, NodeName = nodeName, Zone = zone };
        if (nodeAddresses is not null)
        {
            options.NodeAddresses.Clear();
            foreach (var address in nodeAddresses)
            {
                options.NodeAddresses.Add(address);
            }
        }

        return options;
    }

    /// <summary>
    /// Every diagnostic of a failed load (or of the catalog's refusal), one a line, to standard error;
    /// the set's own diagnostics first, then the catalog's (which only make sense when the set loaded).
    /// </summary>
    public static void WriteDiagnostics(TextWriter writer, IEnumerable<ManifestDiagnostic> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            writer.WriteLine(diagnostic);
        }
    }

    /// <summary>
    /// The catalog's errors located in the files: what <see cref="ManifestSet.ValidateWithCatalog"/>
    /// finds, or, when a fresh catalog accepts the set (the error came from the live catalog's state),
    /// the exception's errors placed at their object's source.
    /// </summary>
    public static IReadOnlyList<ManifestDiagnostic> Locate(ManifestSet set, CatalogValidationException exception, ServiceCatalogOptions options)
    {
        var located = set.ValidateWithCatalog(options);
        if (!located.IsEmpty)
        {
            return located;
        }

        return [.. exception.Errors.Select(error => new ManifestDiagnostic
        {
            Severity = ManifestSeverity.Error,
            Location = FindSource(set, error.Subject),
            Subject = error.Subject,
            Field = error.Field,
            Message = error.Message,
        })];
    }

    private static ManifestLocation? FindSource(ManifestSet set, string subject)
    {
        // Subjects read "service default/web", "pod default/web-1", "endpoints ns/db", "endpointslice ns/x".
        var space = subject.IndexOf(' ', StringComparison.Ordinal);
        var slash = subject.IndexOf('/', StringComparison.Ordinal);
        if (space < 0 || slash < space)
        {
            return null;
        }

        ManifestObjectKind? kind = subject[..space] switch
        {
            "service" => ManifestObjectKind.Service,
            "pod" => ManifestObjectKind.Pod,
            "endpoints" => ManifestObjectKind.Endpoints,
            "endpointslice" => ManifestObjectKind.EndpointSlice,
            _ => null,
        };
        return kind is { } k ? set.FindSource(k, new NamespacedName(subject[(space + 1)..slash], subject[(slash + 1)..])) : null;
    }

    /// <summary>The value of an address option: null for <c>off</c>.</summary>
    public static IPEndPoint? EndPointOrNull(IPEndPoint? value) => ReferenceEquals(value, Off) ? null : value;

    /// <summary>Parses <c>ADDR:PORT</c>, or <c>off</c> as <see cref="Off"/>.</summary>
    private static IPEndPoint? EndPointOrOff(ArgumentResult result, string expected)
    {
        var value = Single(result);
        if (string.Equals(value, "off", StringComparison.OrdinalIgnoreCase))
        {
            // Not null: System.CommandLine 2.0.15 cannot cast a custom parser's null (InvalidCastException).
            return Off;
        }

        // IPEndPoint.TryParse takes "1.2.3.4" alone (port 0): demand the colon and a port.
        if (!IPEndPoint.TryParse(value, out var endPoint) || !HasPort(value))
        {
            result.AddError(Expected(result, expected, value));
            return null;
        }

        return endPoint;
    }

    private static bool HasPort(string value)
    {
        var colon = value.LastIndexOf(':');
        var bracket = value.LastIndexOf(']');
        return colon > bracket && colon < value.Length - 1 && (bracket >= 0 || value.IndexOf(':', StringComparison.Ordinal) == colon);
    }

    private static string Single(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;

    private static string Expected(ArgumentResult result, string what, string got)
    {
        var option = result.Parent is OptionResult { Option: { } o } ? o.Name : result.Argument.Name;
        return $"{option}: expected {what}, got \"{got}\"";
    }
}
