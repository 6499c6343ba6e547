using Microsoft.Extensions.Logging;

namespace FastProxy.Kubernetes;

/// <summary>The source's log events; ids 140-159 (the core library's are in FastProxy.Diagnostics.EventIds).</summary>
internal static partial class KubernetesSourceLog
{
    [LoggerMessage(140, LogLevel.Information, "Kubernetes {Resource}: listed {Count} objects at resourceVersion {ResourceVersion}.", EventName = "KubernetesListed")]
    public static partial void Listed(ILogger logger, string resource, int count, string resourceVersion);

    [LoggerMessage(141, LogLevel.Warning, "Kubernetes {Resource}: resourceVersion {ResourceVersion} is gone (410); listing again.", EventName = "KubernetesRelist")]
    public static partial void Relisting(ILogger logger, string resource, string? resourceVersion);

    [LoggerMessage(142, LogLevel.Warning, "Kubernetes {Resource}: the API server failed or is unreachable; the catalog keeps its last good state, retrying in {Delay}.", EventName = "KubernetesUnreachable")]
    public static partial void Unreachable(ILogger logger, string resource, TimeSpan delay, Exception exception);

    [LoggerMessage(143, LogLevel.Error, "Kubernetes {Kind} {Object}: {Problem}; skipped, its last good version stays.", EventName = "KubernetesInvalidObject")]
    public static partial void InvalidObject(ILogger logger, string kind, string @object, string problem);

    [LoggerMessage(144, LogLevel.Error, "Kubernetes {Kind} {Object}: the catalog refused it: {Problem}; skipped, its last good version stays.", EventName = "KubernetesRefusedObject")]
    public static partial void RefusedObject(ILogger logger, string kind, string @object, string problem);

    [LoggerMessage(145, LogLevel.Debug, "Kubernetes {Kind} {Object}: {Warning}", EventName = "KubernetesObjectWarning")]
    public static partial void ObjectWarning(ILogger logger, string kind, string @object, string warning);

    [LoggerMessage(146, LogLevel.Warning, "Kubernetes {Resource}: watch error: {Problem}.", EventName = "KubernetesWatchError")]
    public static partial void WatchError(ILogger logger, string resource, string problem);

    [LoggerMessage(147, LogLevel.Information, "Kubernetes {Resource}: watching from resourceVersion {ResourceVersion}.", EventName = "KubernetesWatching")]
    public static partial void Watching(ILogger logger, string resource, string resourceVersion);
}
