namespace FastProxy.Model;

/// <summary>What a new connection meets when its service, or every endpoint it may use, is at its connection limit.</summary>
public enum LimitAction
{
    /// <summary>Reset at once (a refused connection a client can retry elsewhere). The default.</summary>
    Reject = 0,

    /// <summary>
    /// Wait for a slot, up to <see cref="ConnectionPolicy.QueueTimeout"/> and with at most
    /// <see cref="ConnectionPolicy.QueueLimit"/> waiting; then forward, or reset when none came.
    /// </summary>
    Queue = 1,
}
