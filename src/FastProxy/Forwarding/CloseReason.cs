namespace FastProxy.Forwarding;

/// <summary>Why one direction of a proxied connection ended.</summary>
internal enum CloseReason
{
    /// <summary>The sender finished (FIN); the FIN was passed on.</summary>
    EndOfStream,

    /// <summary>The sender reset the connection; the reset was passed on.</summary>
    Reset,

    /// <summary>The receiving side went away while data was still flowing to it.</summary>
    ReceiverClosed,

    /// <summary>The proxy aborted the connection (shutdown, or an unexpected error).</summary>
    Aborted,
}
