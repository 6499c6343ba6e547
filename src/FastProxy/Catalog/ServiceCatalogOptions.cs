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
}
