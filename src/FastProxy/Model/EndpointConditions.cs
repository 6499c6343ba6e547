namespace FastProxy.Model;

/// <summary>
/// Kubernetes' endpoint conditions (discovery.k8s.io/v1 <c>EndpointConditions</c>). Only ready endpoints
/// take new connections; when a service has none, serving endpoints that are terminating take them.
/// </summary>
/// <param name="Ready">The endpoint takes new connections: serving and not terminating (or the service publishes not-ready addresses).</param>
/// <param name="Serving">The endpoint answers, whether or not it is terminating (a pod's Ready condition).</param>
/// <param name="Terminating">The endpoint is shutting down (its pod has a deletion timestamp).</param>
public readonly record struct EndpointConditions(bool Ready, bool Serving, bool Terminating)
{
    /// <summary>Ready and serving, not terminating: what an absent <c>conditions</c> means in Kubernetes.</summary>
    public static EndpointConditions ReadyAndServing => new(true, true, false);

    /// <summary>True when the endpoint may take new connections only because no endpoint of its service is ready.</summary>
    public bool IsFallback => !Ready && Serving && Terminating;
}
