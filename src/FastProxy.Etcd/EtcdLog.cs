using Microsoft.Extensions.Logging;

namespace FastProxy.Etcd;

/// <summary>The etcd source's and registration's log messages (event ids 1200-1219).</summary>
internal static partial class EtcdLog
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "etcd {Endpoint}: listed {Prefix} at revision {Revision}: {Objects} object(s), {Changes} change(s) applied")]
    public static partial void Listed(ILogger logger, Uri endpoint, string prefix, long revision, int objects, int changes);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "etcd {Endpoint}: watching {Prefix} from revision {Revision}")]
    public static partial void Watching(ILogger logger, Uri endpoint, string prefix, long revision);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "etcd {Endpoint}: unreachable or failed ({Error}); still serving catalog version {Version}; retrying in {DelayMs} ms")]
    public static partial void Unreachable(ILogger logger, Uri endpoint, string error, long version, long delayMs);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "etcd {Endpoint}: revision {Revision} was compacted (oldest kept {CompactRevision}); listing again")]
    public static partial void Compacted(ILogger logger, Uri endpoint, long revision, long compactRevision);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "etcd {Endpoint}: watch canceled by the server ({Reason}); listing again")]
    public static partial void WatchCanceled(ILogger logger, Uri endpoint, string reason);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Error, Message = "etcd key refused, its last good version (if any) keeps serving: {Diagnostic}")]
    public static partial void KeyRefused(ILogger logger, string diagnostic);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Error, Message = "etcd {Key}: the catalog refused it, its last good version (if any) keeps serving: {Errors}")]
    public static partial void CatalogRefused(ILogger logger, string key, string errors);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Debug, Message = "etcd revision {Revision}: {Changes} change(s), catalog version {Version}")]
    public static partial void Applied(ILogger logger, long revision, int changes, long version);

    [LoggerMessage(EventId = 1210, Level = LogLevel.Information, Message = "etcd {Endpoint}: registered {Key} under lease {Lease:x} (TTL {Ttl} s)")]
    public static partial void Registered(ILogger logger, Uri endpoint, string key, long lease, long ttl);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Warning, Message = "etcd {Endpoint}: registration of {Key} lost ({Error}); registering again in {DelayMs} ms")]
    public static partial void RegistrationLost(ILogger logger, Uri endpoint, string key, string error, long delayMs);

    [LoggerMessage(EventId = 1212, Level = LogLevel.Information, Message = "etcd {Endpoint}: deregistered {Key} (lease {Lease:x} revoked)")]
    public static partial void Deregistered(ILogger logger, Uri endpoint, string key, long lease);

    [LoggerMessage(EventId = 1213, Level = LogLevel.Warning, Message = "etcd {Endpoint}: could not revoke lease {Lease:x} of {Key} ({Error}); it expires by itself")]
    public static partial void RevokeFailed(ILogger logger, Uri endpoint, string key, long lease, string error);
}
