using System.Net;
using FastProxy.Balancing;

namespace FastProxy.Catalog;

/// <summary>Settings of a <see cref="ServiceCatalog"/>.</summary>
public sealed class ServiceCatalogOptions
{
    /// <summary>
    /// The range virtual IPs are allocated from when a service gives none. Defaults to
    /// <c>127.96.0.0/12</c>: inside the loopback range, so every address binds on Linux with no setup.
    /// </summary>
    public IPNetwork ServiceCidr { get; set; } = IPNetwork.Parse("127.96.0.0/12");

    /// <summary>
    /// The addresses <see cref="Model.ServiceType.NodePort"/> and <see cref="Model.ServiceType.LoadBalancer"/>
    /// services listen on at their node ports. Defaults to <c>127.0.0.1</c> only, so nothing is exposed
    /// beyond this machine unless asked (<c>0.0.0.0</c> is every address, as kube-proxy's default).
    /// </summary>
    public IList<IPAddress> NodeAddresses { get; } = [IPAddress.Loopback];

    /// <summary>This node's name: endpoints whose node name matches are local for <see cref="Model.TrafficPolicy.Local"/> and <see cref="Model.TrafficDistribution.PreferSameNode"/>. Defaults to null (no endpoint is local).</summary>
    public string? NodeName { get; set; }

    /// <summary>This node's zone, for <see cref="Model.TrafficDistribution.PreferSameZone"/>. Defaults to null (no zone preference applies).</summary>
    public string? Zone { get; set; }

    /// <summary>
    /// The balancing strategies services may name, besides the built-in ones. A name may be registered
    /// once. Defaults to empty.
    /// </summary>
    public IList<IBalancingStrategy> Strategies { get; } = [];

    /// <summary>
    /// The most clients one service port with <see cref="Model.SessionAffinity.ClientIP"/> remembers.
    /// When full, expired entries are swept; new clients beyond it are balanced without affinity until
    /// entries expire. About 100 bytes per client. Defaults to 65,536.
    /// </summary>
    public int SessionAffinityCapacity { get; set; } = 65_536;

    /// <summary>Where the catalog logs what goes wrong outside a caller's reach (a strategy or a change subscriber that throws). Defaults to none.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock session affinity and UDP sessions expire by, and health checks and outlier ejections run on. Defaults to <see cref="TimeProvider.System"/>; tests pass a fake one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
