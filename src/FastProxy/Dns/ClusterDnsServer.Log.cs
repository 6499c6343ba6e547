using System.Net;
using System.Net.Sockets;
using FastProxy.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FastProxy.Dns;

public sealed partial class ClusterDnsServer
{
    private static partial class Log
    {
        [LoggerMessage(EventIds.DnsListening, LogLevel.Information, "DNS for {Zone} on {EndPoint} (UDP and TCP); upstream {Upstream}.", EventName = "DnsListening")]
        public static partial void Listening(ILogger logger, IPEndPoint endPoint, string zone, string upstream);

        [LoggerMessage(EventIds.DnsRequestFailed, LogLevel.Debug, "DNS request from {Client} failed.", EventName = "DnsRequestFailed")]
        public static partial void RequestFailed(ILogger logger, EndPoint? client, Exception exception);

        [LoggerMessage(EventIds.DnsForwardFailed, LogLevel.Debug, "No answer from upstream {Upstream} for {Name}: SERVFAIL.", EventName = "DnsForwardFailed")]
        public static partial void ForwardFailed(ILogger logger, string name, IPEndPoint upstream);

        [LoggerMessage(EventIds.DnsTcpLimitReached, LogLevel.Warning, "DNS TCP connection from {Client} closed: {Limit} connections are open.", EventName = "DnsTcpLimitReached")]
        public static partial void TcpLimitReached(ILogger logger, EndPoint? client, int limit);

        [LoggerMessage(EventIds.DnsSocketError, LogLevel.Debug, "DNS UDP receive failed: {Error}.", EventName = "DnsUdpReceiveFailed")]
        public static partial void UdpReceiveFailed(ILogger logger, SocketError error);

        [LoggerMessage(EventIds.DnsSocketError, LogLevel.Debug, "DNS TCP accept failed: {Error}.", EventName = "DnsAcceptFailed")]
        public static partial void AcceptFailed(ILogger logger, SocketError error);
    }
}
