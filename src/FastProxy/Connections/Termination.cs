namespace FastProxy.Connections;

/// <summary>Why the proxy itself reset a forwarded connection that was running fine.</summary>
internal enum Termination
{
    /// <summary>Still open, or ended on its own.</summary>
    None,

    /// <summary><see cref="Model.DrainPolicy.Close"/>: its endpoint or listener went away.</summary>
    ClosePolicy,

    /// <summary><see cref="Model.DrainPolicy.Drain"/>: still open when the drain deadline came.</summary>
    DrainDeadline,

    /// <summary>Both directions were silent for the idle timeout.</summary>
    IdleTimeout,
}
