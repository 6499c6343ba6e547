namespace FastProxy.Model;

/// <summary>
/// What happens to a service's open connections when their endpoint leaves (pod removed, port gone) or
/// turns terminating, and to a removed listener's connections. See docs/connections.md.
/// </summary>
public enum DrainPolicy
{
    /// <summary>
    /// Connections run to their own end; only new connections avoid the endpoint. What kube-proxy does
    /// (its conntrack entries outlive the endpoint), so it is the default.
    /// </summary>
    Keep = 0,

    /// <summary>
    /// No new connections; open ones get <see cref="ConnectionPolicy.DrainTimeout"/> to finish, then the
    /// rest are reset.
    /// </summary>
    Drain = 1,

    /// <summary>Open connections are reset at once, to both sides, as a failed pod's would be.</summary>
    Close = 2,
}
