using System.Net.Sockets;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// The outcome of one socket operation: bytes transferred, or the error. Errors travel as values inside the
/// transport; they become exceptions only where the application can observe them (pipe completion).
/// </summary>
internal readonly struct SocketOperationResult
{
    public SocketOperationResult(int bytesTransferred)
    {
        BytesTransferred = bytesTransferred;
        Error = SocketError.Success;
    }

    public SocketOperationResult(SocketError error)
    {
        BytesTransferred = 0;
        Error = error;
    }

    public int BytesTransferred { get; }

    public SocketError Error { get; }

    public bool HasError => Error != SocketError.Success;
}
