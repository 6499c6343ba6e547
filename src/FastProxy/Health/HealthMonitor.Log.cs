using FastProxy.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FastProxy.Health;

internal sealed partial class HealthMonitor
{
    private static partial class Log
    {
        [LoggerMessage(EventIds.EndpointChecksFailing, LogLevel.Warning, "Endpoint {Endpoint} of service {Service} failed {Count} health checks in a row ({Detail}): it takes no new connections.", EventName = "EndpointChecksFailing")]
        public static partial void ChecksFailing(ILogger logger, string endpoint, string service, int count, string detail);

        [LoggerMessage(EventIds.EndpointChecksPassing, LogLevel.Information, "Endpoint {Endpoint} of service {Service} passed {Count} health checks in a row: it takes new connections again.", EventName = "EndpointChecksPassing")]
        public static partial void ChecksPassing(ILogger logger, string endpoint, string service, int count);

        [LoggerMessage(EventIds.EndpointEjected, LogLevel.Warning, "Endpoint {Endpoint} of service {Service} ejected after {Detail}, for {Seconds} s (ejection {Ejection} in a row).", EventName = "EndpointEjected")]
        public static partial void Ejected(ILogger logger, string endpoint, string service, string detail, double seconds, int ejection);

        [LoggerMessage(EventIds.EndpointRestored, LogLevel.Information, "Endpoint {Endpoint} of service {Service} restored: {Detail}.", EventName = "EndpointRestored")]
        public static partial void Restored(ILogger logger, string endpoint, string service, string detail);

        [LoggerMessage(EventIds.HealthProbeFailed, LogLevel.Debug, "Health check of endpoint {Endpoint} of service {Service} failed: {Detail}.", EventName = "HealthProbeFailed")]
        public static partial void ProbeFailed(ILogger logger, string endpoint, string service, string detail);

        [LoggerMessage(EventIds.HealthRefreshFailed, LogLevel.Error, "Rebuilding the routes of service {Service} after a health change failed; the next change retries.", EventName = "HealthRefreshFailed")]
        public static partial void RefreshFailed(ILogger logger, string service, Exception exception);
    }
}
