using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Hosting;

/// <summary>
/// Turns <see cref="FastProxyOptions"/> into a catalog and a server. Every problem (a setting out of
/// range, an address that does not parse, a service or pod the catalog rejects) is collected and thrown
/// together as one <see cref="CatalogValidationException"/>, so a host reports them all at startup.
/// </summary>
internal static class FastProxyFactory
{
    private const string Root = FastProxyOptions.SectionName;

    /// <summary>Creates the catalog with the declared services and pods applied as one update.</summary>
    public static ServiceCatalog CreateCatalog(FastProxyOptions options, IEnumerable<IBalancingStrategy> strategies, TimeProvider? timeProvider)
    {
        var errors = new List<ValidationError>();
        var catalogOptions = ReadCatalogOptions(options, errors);
        foreach (var strategy in strategies)
        {
            catalogOptions.Strategies.Add(strategy);
        }

        if (timeProvider is not null)
        {
            catalogOptions.TimeProvider = timeProvider;
        }

        foreach (var (option, value, problem) in ReadServerOptions(options).Problems())
        {
            errors.Add(new ValidationError(Root, option, $"{problem}, got {Format(value)}"));
        }

        var update = ReadDeclarations(options, errors);
        var catalog = new ServiceCatalog(catalogOptions);
        try
        {
            catalog.Apply(update);
        }
        catch (CatalogValidationException rejected)
        {
            errors.AddRange(rejected.Errors);
        }

        return errors.Count == 0 ? catalog : throw new CatalogValidationException(errors);
    }

    /// <summary>Creates the server over the socket transport, with the host's logging and metrics.</summary>
    public static ProxyServer CreateServer(ServiceCatalog catalog, FastProxyOptions options, ILoggerFactory? loggerFactory, IMeterFactory? meterFactory)
    {
        var server = ReadServerOptions(options);
        var builder = new ProxyServerBuilder(catalog)
            .UseSockets()
            .UseLoggerFactory(loggerFactory ?? NullLoggerFactory.Instance)
            .Configure(o =>
            {
                o.ConnectTimeout = server.ConnectTimeout;
                o.ConnectAttempts = server.ConnectAttempts;
                o.ConnectTotalTimeout = server.ConnectTotalTimeout;
                o.ShutdownTimeout = server.ShutdownTimeout;
            });
        if (meterFactory is not null)
        {
            builder.UseMeterFactory(meterFactory);
        }

        return builder.Build();
    }

    private static ProxyServerOptions ReadServerOptions(FastProxyOptions options) => new()
    {
        ConnectTimeout = options.ConnectTimeout,
        ConnectAttempts = options.ConnectAttempts,
        ConnectTotalTimeout = options.ConnectTotalTimeout,
        ShutdownTimeout = options.ShutdownTimeout,
    };

    private static ServiceCatalogOptions ReadCatalogOptions(FastProxyOptions options, List<ValidationError> errors)
    {
        var result = new ServiceCatalogOptions { NodeName = options.NodeName, Zone = options.Zone };
        if (IPNetwork.TryParse(options.ServiceCidr, out var cidr))
        {
            result.ServiceCidr = cidr;
        }
        else
        {
            errors.Add(new ValidationError(Root, nameof(options.ServiceCidr), $"must be a CIDR range such as 127.96.0.0/12, got '{options.ServiceCidr}'"));
        }

        if (options.NodeAddresses.Count > 0)
        {
            result.NodeAddresses.Clear();
            for (var i = 0; i < options.NodeAddresses.Count; i++)
            {
                if (ParseAddress(options.NodeAddresses[i], Root, Path(nameof(options.NodeAddresses), i), errors) is { } address)
                {
                    result.NodeAddresses.Add(address);
                }
            }
        }

        if (options.SessionAffinityCapacity < 1)
        {
            errors.Add(new ValidationError(Root, nameof(options.SessionAffinityCapacity), $"must be at least 1, got {Format(options.SessionAffinityCapacity)}"));
        }
        else
        {
            result.SessionAffinityCapacity = options.SessionAffinityCapacity;
        }

        return result;
    }

    private static CatalogUpdate ReadDeclarations(FastProxyOptions options, List<ValidationError> errors)
    {
        var update = new CatalogUpdate();
        var services = new Dictionary<NamespacedName, int>();
        for (var i = 0; i < options.Services.Count; i++)
        {
            var subject = Path($"{Root}:{nameof(options.Services)}", i);
            if (ReadService(options.Services[i], subject, errors) is { } service && Unique(services, service.Id, i, subject, nameof(options.Services), errors))
            {
                update.SetService(service);
            }
        }

        var pods = new Dictionary<NamespacedName, int>();
        for (var i = 0; i < options.Pods.Count; i++)
        {
            var subject = Path($"{Root}:{nameof(options.Pods)}", i);
            if (ReadPod(options.Pods[i], subject, errors) is { } pod && Unique(pods, pod.Id, i, subject, nameof(options.Pods), errors))
            {
                update.SetPod(pod);
            }
        }

        return update;
    }

    private static Service? ReadService(ServiceDeclaration? declaration, string subject, List<ValidationError> errors)
    {
        if (declaration is null)
        {
            errors.Add(new ValidationError(subject, "", "must not be empty"));
            return null;
        }

        IPAddress? clusterIP = null;
        var headless = string.Equals(declaration.ClusterIP, "None", StringComparison.OrdinalIgnoreCase);
        if (!headless && !string.IsNullOrEmpty(declaration.ClusterIP))
        {
            clusterIP = ParseAddress(declaration.ClusterIP, subject, nameof(declaration.ClusterIP), errors);
            if (clusterIP is null)
            {
                return null;
            }
        }

        return new Service
        {
            Name = declaration.Name ?? string.Empty,
            Namespace = declaration.Namespace ?? NamespacedName.DefaultNamespace,
            Type = declaration.Type,
            ClusterIP = clusterIP,
            Headless = headless,
            Ports = [.. declaration.Ports.Select(static p => new ServicePort
            {
                Name = p?.Name ?? string.Empty,
                Port = p?.Port ?? 0,
                TargetPort = p?.TargetPort ?? 0,
                TargetPortName = string.IsNullOrEmpty(p?.TargetPortName) ? null : p.TargetPortName,
                NodePort = p?.NodePort ?? 0,
            })],
            Selector = declaration.Selector.Count == 0 ? null : new LabelSelector(declaration.Selector),
            Balancer = string.IsNullOrEmpty(declaration.Balancer) ? BalancingStrategies.RoundRobin : declaration.Balancer,
            SessionAffinity = declaration.SessionAffinity,
        };
    }

    private static Pod? ReadPod(PodDeclaration? declaration, string subject, List<ValidationError> errors)
    {
        if (declaration is null)
        {
            errors.Add(new ValidationError(subject, "", "must not be empty"));
            return null;
        }

        if (string.IsNullOrEmpty(declaration.Address))
        {
            errors.Add(new ValidationError(subject, nameof(declaration.Address), "is required"));
            return null;
        }

        if (ParseAddress(declaration.Address, subject, nameof(declaration.Address), errors) is not { } address)
        {
            return null;
        }

        return new Pod
        {
            Name = declaration.Name ?? string.Empty,
            Namespace = declaration.Namespace ?? NamespacedName.DefaultNamespace,
            Address = address,
            Labels = new Dictionary<string, string>(declaration.Labels, StringComparer.Ordinal),
            ContainerPorts = [.. declaration.Ports.Select(static p => new ContainerPort { Name = p.Key, Port = p.Value })],
            Ready = declaration.Ready,
            Weight = declaration.Weight,
            NodeName = declaration.NodeName,
            Zone = declaration.Zone,
        };
    }

    private static bool Unique(Dictionary<NamespacedName, int> seen, NamespacedName id, int index, string subject, string list, List<ValidationError> errors)
    {
        if (seen.TryAdd(id, index))
        {
            return true;
        }

        errors.Add(new ValidationError(subject, "Name", $"{id} is already declared at {Path($"{Root}:{list}", seen[id])}"));
        return false;
    }

    private static IPAddress? ParseAddress(string? text, string subject, string field, List<ValidationError> errors)
    {
        if (IPAddress.TryParse(text, out var address))
        {
            return address;
        }

        errors.Add(new ValidationError(subject, field, $"must be an IP address, got '{text}'"));
        return null;
    }

    private static string Path(string prefix, int index) => string.Create(CultureInfo.InvariantCulture, $"{prefix}:{index}");

    private static string Format(object value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
}
