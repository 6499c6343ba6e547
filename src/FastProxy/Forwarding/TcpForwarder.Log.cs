using FastProxy.Diagnostics;
using System.Net;
using FastProxy.Model;
using Microsoft.Extensions.Logging;

namespace FastProxy.Forwarding;

internal sealed partial class TcpForwarder
{
    private static partial class Log
    {
        [LoggerMessage(EventIds.NoEndpoints, LogLevel.Warning, "Service {Service} port {Port} has no ready endpoint; connection from {Client} reset.", EventName = "NoEndpoints")]
        public static partial void NoEndpoints(ILogger logger, NamespacedName service, int port, EndPoint? client);

        [LoggerMessage(EventIds.ConnectFailed, LogLevel.Information, "Connect to {Endpoint} for service {Service} failed ({Error}); trying another endpoint if one is left.", EventName = "ConnectFailed")]
        public static partial void ConnectFailed(ILogger logger, IPEndPoint endpoint, NamespacedName service, string error);

        [LoggerMessage(EventIds.AllConnectAttemptsFailed, LogLevel.Warning, "Service {Service} port {Port}: {Attempts} connect attempt(s) failed; connection from {Client} reset.", EventName = "AllConnectAttemptsFailed")]
        public static partial void AllConnectAttemptsFailed(ILogger logger, NamespacedName service, int port, int attempts, EndPoint? client);

        [LoggerMessage(EventIds.ConnectionClosed, LogLevel.Debug, "Connection {Client} -> {Endpoint} closed: to endpoint {ToEndpoint}, from endpoint {FromEndpoint}.", EventName = "ConnectionClosed")]
        public static partial void ConnectionClosed(ILogger logger, EndPoint? client, IPEndPoint endpoint, CloseReason toEndpoint, CloseReason fromEndpoint);

        [LoggerMessage(EventIds.ForwardingFailed, LogLevel.Error, "Forwarding {Client} -> {Endpoint} failed unexpectedly.", EventName = "ForwardingFailed")]
        public static partial void ForwardingFailed(ILogger logger, EndPoint? client, IPEndPoint endpoint, Exception exception);
    }
}
