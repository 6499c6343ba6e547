namespace FastProxy.Model;

/// <summary>
/// How a service's UDP ports keep their sessions (client address and port → endpoint, see docs/udp.md):
/// how long an idle session lives and how many one service holds.
/// </summary>
public sealed record UdpSessionPolicy
{
    /// <summary>
    /// The default idle timeout, 30 seconds: the Linux conntrack UDP timeout
    /// (<c>nf_conntrack_udp_timeout</c>) that kube-proxy's UDP flows, a DNS exchange among them, get.
    /// </summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The default cap on one service's sessions: 16,384.</summary>
    public const int DefaultMaxSessions = 16_384;

    /// <summary>The policy every service has unless it sets its own.</summary>
    public static UdpSessionPolicy Default { get; } = new();

    /// <summary>
    /// How long a session lives with no datagram in either direction, 1 second to 1 day (manifest
    /// annotation <c>fastproxy.io/udp-session-timeout</c>, in seconds). Sessions are swept once a second,
    /// so one ends between this and a second later. Defaults to <see cref="DefaultIdleTimeout"/>.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = DefaultIdleTimeout;

    /// <summary>
    /// The most sessions the service holds over all its UDP ports and addresses, 1-1,048,576 (manifest
    /// annotation <c>fastproxy.io/udp-max-sessions</c>). A new client beyond it evicts the session whose
    /// client was heard from least recently. Each session holds one socket (a file descriptor), so the
    /// process's descriptor limit must leave room for it. Defaults to <see cref="DefaultMaxSessions"/>.
    /// </summary>
    public int MaxSessions { get; init; } = DefaultMaxSessions;
}
