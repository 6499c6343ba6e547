using FastProxy.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FastProxy.Catalog;

public sealed partial class ServiceCatalog
{
    private static partial class Log
    {
        [LoggerMessage(EventIds.PickerFailed, LogLevel.Error, "Service {Service}: strategy '{Strategy}' failed to build a picker; balancing round robin instead.", EventName = "PickerFailed")]
        public static partial void PickerFailed(ILogger logger, string service, string strategy, Exception exception);

        [LoggerMessage(EventIds.ChangeSubscriberFailed, LogLevel.Error, "A subscriber to catalog version {Version} failed; the version is published and the other subscribers were told.", EventName = "ChangeSubscriberFailed")]
        public static partial void ChangeSubscriberFailed(ILogger logger, long version, Exception exception);

        [LoggerMessage(EventIds.LocalPolicyWithoutNodeName, LogLevel.Warning, "Service {Service} has a Local traffic policy but this catalog has no NodeName: no endpoint is local, so that traffic is refused.", EventName = "LocalPolicyWithoutNodeName")]
        public static partial void LocalPolicyWithoutNodeName(ILogger logger, string service);
    }
}
