using FastProxy.Model;

namespace FastProxy.Discovery;

/// <summary>Settings of a <see cref="ServiceConnector"/>; read once, when the connector is created.</summary>
public sealed class ServiceConnectorOptions
{
    /// <summary>
    /// The namespace a bare service name (<c>payments</c>) is looked up in, as the pod's own namespace is
    /// in a pod's DNS search path. Defaults to <c>default</c>.
    /// </summary>
    public string DefaultNamespace { get; set; } = NamespacedName.DefaultNamespace;

    /// <summary>The cluster domain of full names (<c>payments.default.svc.cluster.local</c>). Defaults to <c>cluster.local</c>.</summary>
    public string ClusterDomain { get; set; } = "cluster.local";

    /// <summary>
    /// What a host that names no service of the catalog (nor a service's virtual IP) gets: true, an
    /// ordinary connect through the system's DNS, so one <see cref="System.Net.Http.HttpClient"/> reaches
    /// services and the rest of the world alike; false, an <see cref="IOException"/> naming the host and
    /// port. Defaults to true.
    /// </summary>
    public bool FallbackToDns { get; set; } = true;

    /// <summary>How long one connect to an endpoint may take before the next endpoint is tried. Defaults to 5 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many endpoints one connect may try, 1-16; capped by the number of endpoints. A retry never goes to
    /// an endpoint this connect already tried while an untried one exists. Defaults to 3.
    /// </summary>
    public int ConnectAttempts { get; set; } = 3;

    /// <summary>How long all attempts of one connect may take together; the last attempt gets what is left. Defaults to 10 seconds.</summary>
    public TimeSpan ConnectTotalTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws for the first setting out of range, naming it and why.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(DefaultNamespace))
        {
            throw new ArgumentException($"{nameof(DefaultNamespace)}: must be a namespace name, got \"{DefaultNamespace}\".", nameof(DefaultNamespace));
        }

        if (string.IsNullOrWhiteSpace(ClusterDomain?.Trim('.')))
        {
            throw new ArgumentException($"{nameof(ClusterDomain)}: must be a domain such as cluster.local, got \"{ClusterDomain}\".", nameof(ClusterDomain));
        }

        // The same connect settings as the proxy's, with the same limits.
        var connect = new ProxyServerOptions { ConnectTimeout = ConnectTimeout, ConnectAttempts = ConnectAttempts, ConnectTotalTimeout = ConnectTotalTimeout };
        connect.Validate();
    }
}
