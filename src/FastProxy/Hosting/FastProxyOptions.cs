using FastProxy.Catalog;

namespace FastProxy.Hosting;

/// <summary>
/// Settings of the proxy that <c>AddFastProxy</c> registers, usually bound from the configuration
/// section <c>"FastProxy"</c>: the catalog's and the forwarding's settings, and services and pods
/// declared in configuration. Addresses are strings, as they are written in configuration files.
/// </summary>
public sealed class FastProxyOptions
{
    /// <summary>The configuration section <c>AddFastProxy()</c> binds: <c>"FastProxy"</c>.</summary>
    public const string SectionName = "FastProxy";

    private static readonly ServiceCatalogOptions CatalogDefaults = new();
    private static readonly ProxyServerOptions ServerDefaults = new();

    /// <summary>The range virtual IPs are allocated from when a service gives none, in CIDR notation. Defaults to <c>127.96.0.0/12</c>.</summary>
    public string ServiceCidr { get; set; } = CatalogDefaults.ServiceCidr.ToString();

    /// <summary>
    /// The addresses NodePort and LoadBalancer services listen on at their node ports. Empty means the
    /// catalog's default, <c>127.0.0.1</c> only; <c>0.0.0.0</c> is every address. Defaults to empty.
    /// </summary>
    public IList<string> NodeAddresses { get; } = [];

    /// <summary>This node's name, for traffic policy <c>Local</c> and <c>PreferSameNode</c>. Defaults to null.</summary>
    public string? NodeName { get; set; }

    /// <summary>This node's zone, for <c>PreferSameZone</c>. Defaults to null.</summary>
    public string? Zone { get; set; }

    /// <summary>The most clients one service port with ClientIP session affinity remembers. Defaults to 65,536.</summary>
    public int SessionAffinityCapacity { get; set; } = CatalogDefaults.SessionAffinityCapacity;

    /// <summary>How long one connect to an endpoint may take before the next endpoint is tried. Defaults to 5 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = ServerDefaults.ConnectTimeout;

    /// <summary>How many endpoints one client connection may try before it is reset, 1-16. Defaults to 3.</summary>
    public int ConnectAttempts { get; set; } = ServerDefaults.ConnectAttempts;

    /// <summary>How long all connect attempts of one client connection may take together. Defaults to 10 seconds.</summary>
    public TimeSpan ConnectTotalTimeout { get; set; } = ServerDefaults.ConnectTotalTimeout;

    /// <summary>
    /// How long stopping lets open connections finish after the listeners close, before it resets the
    /// rest; the host's own shutdown timeout can end it sooner. Defaults to 30 seconds.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = ServerDefaults.ShutdownTimeout;

    /// <summary>Services to serve from the start, applied to the catalog together with <see cref="Pods"/> as one update. Defaults to none.</summary>
    public IList<ServiceDeclaration> Services { get; } = [];

    /// <summary>Pods to serve from the start, applied to the catalog together with <see cref="Services"/> as one update. Defaults to none.</summary>
    public IList<PodDeclaration> Pods { get; } = [];
}
