using System.Net;
using System.Net.Sockets;
using FastProxy.Diagnostics;
using FastProxy.Listeners;
using Microsoft.Extensions.Logging;

namespace FastProxy.Forwarding.Udp;

/// <summary>UDP forwarding's log events (ids 80-99). Per-datagram events are Debug: a flood must not become a log flood.</summary>
internal static partial class UdpLog
{
    [LoggerMessage(EventIds.UdpListenerStarted, LogLevel.Information, "Listening on {Listener} for service {Service}.", EventName = "UdpListenerStarted")]
    public static partial void Started(ILogger logger, ListenerKey listener, string service);

    [LoggerMessage(EventIds.UdpListenerStopped, LogLevel.Information, "Stopped listening on {Listener}.", EventName = "UdpListenerStopped")]
    public static partial void Stopped(ILogger logger, ListenerKey listener);

    [LoggerMessage(EventIds.UdpListenerBindFailed, LogLevel.Error, "Cannot listen on {Listener} for service {Service}.", EventName = "UdpListenerBindFailed")]
    public static partial void BindFailed(ILogger logger, ListenerKey listener, string service, Exception exception);

    [LoggerMessage(EventIds.UdpReceiveFailed, LogLevel.Warning, "Receiving on {Listener} failed; receiving again.", EventName = "UdpReceiveFailed")]
    public static partial void ReceiveFailed(ILogger logger, ListenerKey listener, Exception exception);

    [LoggerMessage(EventIds.UdpNoEndpoints, LogLevel.Debug, "No endpoint for {Client} on {Listener}: its session ends and its datagrams are dropped.", EventName = "UdpNoEndpoints")]
    public static partial void NoEndpoints(ILogger logger, ListenerKey listener, IPEndPoint client);

    [LoggerMessage(EventIds.UdpSessionOpenFailed, LogLevel.Warning, "Cannot open a UDP session from {Client} to {Endpoint}; the datagram is dropped.", EventName = "UdpSessionOpenFailed")]
    public static partial void SessionOpenFailed(ILogger logger, IPEndPoint client, IPEndPoint endpoint, Exception exception);

    [LoggerMessage(EventIds.UdpSourceRefused, LogLevel.Debug, "Dropped a datagram from {Client} on {Listener}: outside the service's loadBalancerSourceRanges.", EventName = "UdpSourceRefused")]
    public static partial void SourceRefused(ILogger logger, IPEndPoint client, ListenerKey listener);

    [LoggerMessage(EventIds.UdpSessionsEvicted, LogLevel.Debug, "Evicted the UDP session of {Client} from service {Service}: {MaxSessions} sessions is its cap.", EventName = "UdpSessionEvicted")]
    public static partial void Evicted(ILogger logger, IPEndPoint client, string service, int maxSessions);

    [LoggerMessage(EventIds.UdpRelayFailed, LogLevel.Warning, "Relaying replies from {Endpoint} to {Client} failed; the client's next datagram opens a new socket.", EventName = "UdpRelayFailed")]
    public static partial void RelayFailed(ILogger logger, IPEndPoint client, IPEndPoint endpoint, Exception exception);

    [LoggerMessage(EventIds.UdpReplyFailed, LogLevel.Debug, "A reply on {Listener} could not be sent ({Error}); it is dropped.", EventName = "UdpReplyFailed")]
    public static partial void ReplyFailed(ILogger logger, ListenerKey listener, SocketError error);
}
