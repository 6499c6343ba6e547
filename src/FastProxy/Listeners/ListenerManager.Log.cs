using FastProxy.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FastProxy.Listeners;

internal sealed partial class ListenerManager
{
    private static partial class Log
    {
        [LoggerMessage(EventIds.ListenerStarted, LogLevel.Information, "Listening on {Listener} for service {Service}.", EventName = "ListenerStarted")]
        public static partial void ListenerStarted(ILogger logger, ListenerKey listener, string service);

        [LoggerMessage(EventIds.ListenerStopped, LogLevel.Information, "Stopped listening on {Listener}.", EventName = "ListenerStopped")]
        public static partial void ListenerStopped(ILogger logger, ListenerKey listener);

        [LoggerMessage(EventIds.ListenerBindFailed, LogLevel.Error, "Cannot listen on {Listener} for service {Service}.", EventName = "ListenerBindFailed")]
        public static partial void ListenerBindFailed(ILogger logger, ListenerKey listener, string service, Exception exception);

        [LoggerMessage(EventIds.SourceRefused, LogLevel.Debug, "Refused {Client} on {Listener}: outside the service's loadBalancerSourceRanges.", EventName = "SourceRefused")]
        public static partial void SourceRefused(ILogger logger, System.Net.EndPoint? client, ListenerKey listener);

        [LoggerMessage(EventIds.AcceptLoopFailed, LogLevel.Error, "The accept loop of {Listener} failed; the listener stops.", EventName = "AcceptLoopFailed")]
        public static partial void AcceptLoopFailed(ILogger logger, ListenerKey listener, Exception exception);
    }
}
