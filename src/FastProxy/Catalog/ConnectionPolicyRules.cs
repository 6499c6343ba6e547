using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// The checks of a service's <see cref="ConnectionPolicy"/>. Fields are named by the manifest annotation that
/// sets them (<c>metadata.annotations[fastproxy.io/…]</c>), as the balancer's are, since that is where users write them.
/// </summary>
internal static class ConnectionPolicyRules
{
    // Timers cannot wait longer than about 49 days; nothing here should wait anywhere near that.
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);
    private const int MaxQueueLimit = 1_000_000;

    public static IEnumerable<(string Field, string Problem)> Problems(ConnectionPolicy? policy)
    {
        if (policy is null)
        {
            yield return ("connectionPolicy", "must not be null");
            yield break;
        }

        if (!Enum.IsDefined(policy.Drain))
        {
            yield return (Field("drain-policy"), $"must be keep, drain or close, got {policy.Drain}");
        }

        if (Wait(policy.DrainTimeout) is { } drain)
        {
            yield return (Field("drain-timeout"), drain);
        }

        if (policy.MaxConnections < 0)
        {
            yield return (Field("max-connections"), $"must not be negative (0 is unlimited), got {policy.MaxConnections}");
        }

        if (policy.MaxConnectionsPerEndpoint < 0)
        {
            yield return (Field("max-connections-per-endpoint"), $"must not be negative (0 is unlimited), got {policy.MaxConnectionsPerEndpoint}");
        }

        if (!Enum.IsDefined(policy.LimitAction))
        {
            yield return (Field("limit-action"), $"must be reject or queue, got {policy.LimitAction}");
        }

        if (Wait(policy.QueueTimeout) is { } queue)
        {
            yield return (Field("queue-timeout"), queue);
        }

        if (policy.QueueLimit is < 1 or > MaxQueueLimit)
        {
            yield return (Field("queue-limit"), $"must be 1-{MaxQueueLimit}, got {policy.QueueLimit}");
        }

        if (policy.ConnectTimeout is { } connect && Wait(connect) is { } connectProblem)
        {
            yield return (Field("connect-timeout"), connectProblem);
        }

        if (policy.IdleTimeout is { } idle && idle < TimeSpan.Zero)
        {
            yield return (Field("idle-timeout"), $"must not be negative (0 disables it), got {idle}");
        }

        if (!Enum.IsDefined(policy.SendProxyProtocol))
        {
            yield return (Field("proxy-protocol"), $"must be v1 or v2, got {policy.SendProxyProtocol}");
        }
    }

    private static string Field(string annotation) => $"metadata.annotations[fastproxy.io/{annotation}]";

    private static string? Wait(TimeSpan value)
        => value <= TimeSpan.Zero || value > MaxWait ? $"must be greater than 0 and at most 1 day, got {value}" : null;
}
