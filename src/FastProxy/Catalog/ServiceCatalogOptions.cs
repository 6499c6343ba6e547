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

    /// <summary>The clock session affinity expires by. Defaults to <see cref="TimeProvider.System"/>; tests pass a fake one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
