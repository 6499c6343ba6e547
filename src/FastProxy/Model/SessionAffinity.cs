namespace FastProxy.Model;

/// <summary>Kubernetes' <c>spec.sessionAffinity</c>: whether connections from one client stick to one endpoint.</summary>
public enum SessionAffinity
{
    /// <summary>Every new connection is balanced on its own. The default.</summary>
    None = 0,

    /// <summary>
    /// New connections from one client address go to the endpoint its previous connection went to, for
    /// as long as that endpoint stays in the service and connects, and the client keeps coming back
    /// within <see cref="Service.SessionAffinityTimeout"/>. Works on top of any balancing strategy.
    /// </summary>
    ClientIP = 1,
}
