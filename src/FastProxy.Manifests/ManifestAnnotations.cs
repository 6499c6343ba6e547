namespace FastProxy.Manifests;

/// <summary>
/// FastProxy's own settings, written as annotations under <c>fastproxy.io/</c> so the manifests stay
/// valid Kubernetes objects. docs/manifests.md lists each with its type, default and an example.
/// </summary>
public static class ManifestAnnotations
{
    /// <summary>The prefix of every FastProxy annotation; an unknown key under it is reported (a typo would otherwise be ignored).</summary>
    public const string Prefix = "fastproxy.io/";

    /// <summary>On a Service: the balancing strategy's name (<see cref="Model.Service.Balancer"/>), e.g. <c>maglev</c>. Defaults to <c>round-robin</c>.</summary>
    public const string Balancer = "fastproxy.io/balancer";

    /// <summary>On a Pod: its share for weighted strategies (<see cref="Model.Pod.Weight"/>), an integer 1-10000 written as a string (<c>"5"</c>). Defaults to 1.</summary>
    public const string Weight = "fastproxy.io/weight";

    /// <summary>
    /// On a Service: how long its UDP sessions live idle (<see cref="Model.UdpSessionPolicy.IdleTimeout"/>),
    /// whole seconds 1-86400 written as a string (<c>"30"</c>). Defaults to 30.
    /// </summary>
    public const string UdpSessionTimeout = "fastproxy.io/udp-session-timeout";

    /// <summary>
    /// On a Service: the most UDP sessions it holds (<see cref="Model.UdpSessionPolicy.MaxSessions"/>), an
    /// integer 1-1048576 written as a string (<c>"4096"</c>). Defaults to 16384.
    /// </summary>
    public const string UdpMaxSessions = "fastproxy.io/udp-max-sessions";
}
