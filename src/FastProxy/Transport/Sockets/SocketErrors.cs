using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Transport.Sockets;

/// <summary>Classifies socket errors and turns them into the exceptions the application sees.</summary>
internal static class SocketErrors
{
    /// <summary>
    /// The peer reset the connection. EPIPE surfaces as <see cref="SocketError.Shutdown"/> when a send follows
    /// a reset; Windows reports some resets as ConnectionAborted and macOS as ProtocolType (Kestrel's list).
    /// </summary>
    public static bool IsConnectionReset(SocketError error) =>
        error is SocketError.ConnectionReset or SocketError.Shutdown ||
        (error == SocketError.ConnectionAborted && OperatingSystem.IsWindows()) ||
        (error == SocketError.ProtocolType && OperatingSystem.IsMacOS());

    /// <summary>
    /// We closed the socket under a pending operation (Abort, Dispose). On Unix a receive that races with the
    /// close can also fail with EINVAL.
    /// </summary>
    public static bool IsLocalAbort(SocketError error) =>
        error is SocketError.OperationAborted or SocketError.Interrupted ||
        (error == SocketError.InvalidArgument && !OperatingSystem.IsWindows());

    /// <summary>The exception the application's <c>Transport.Input</c> faults with.</summary>
    public static Exception ToException(SocketError error)
    {
        var socketException = new SocketException((int)error);
        if (IsConnectionReset(error))
        {
            return new ConnectionResetException(socketException.Message, socketException);
        }

        if (IsLocalAbort(error))
        {
            return new ConnectionAbortedException(socketException.Message, socketException);
        }

        return socketException;
    }
}
