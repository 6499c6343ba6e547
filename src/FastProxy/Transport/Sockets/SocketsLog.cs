using Microsoft.Extensions.Logging;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// Source-generated log messages of the sockets transport. Callers check <c>IsEnabled</c> before calling so
/// that lazily generated connection ids are not created just to be discarded.
/// </summary>
/// <remarks>REVIEW: move the ids into Diagnostics/EventIds.cs once that file exists.</remarks>
internal static partial class SocketsLog
{
    [LoggerMessage(1001, LogLevel.Debug, "Connection {ConnectionId} received FIN.", EventName = "ConnectionReadFin", SkipEnabledCheck = true)]
    public static partial void ConnectionReadFin(ILogger logger, string connectionId);

    [LoggerMessage(1002, LogLevel.Debug, "Connection {ConnectionId} sent FIN.", EventName = "ConnectionWriteFin", SkipEnabledCheck = true)]
    public static partial void ConnectionWriteFin(ILogger logger, string connectionId);

    [LoggerMessage(1003, LogLevel.Debug, "Connection {ConnectionId} was reset by the peer ({SocketError}).", EventName = "ConnectionReset", SkipEnabledCheck = true)]
    public static partial void ConnectionReset(ILogger logger, string connectionId, System.Net.Sockets.SocketError socketError);

    [LoggerMessage(1004, LogLevel.Debug, "Connection {ConnectionId} aborted: {Reason}", EventName = "ConnectionAborted", SkipEnabledCheck = true)]
    public static partial void ConnectionAborted(ILogger logger, string connectionId, string reason);

    [LoggerMessage(1005, LogLevel.Debug, "Connection {ConnectionId} failed with socket error {SocketError}.", EventName = "ConnectionError", SkipEnabledCheck = true)]
    public static partial void ConnectionError(ILogger logger, string connectionId, System.Net.Sockets.SocketError socketError);

    [LoggerMessage(1006, LogLevel.Error, "Unexpected exception in connection {ConnectionId}.", EventName = "ConnectionUnexpectedError")]
    public static partial void ConnectionUnexpectedError(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(1007, LogLevel.Debug, "A connection was reset while it waited in the accept queue of {EndPoint}.", EventName = "AcceptReset")]
    public static partial void AcceptReset(ILogger logger, System.Net.EndPoint endPoint, Exception exception);
}
