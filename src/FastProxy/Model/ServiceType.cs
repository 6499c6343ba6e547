namespace FastProxy.Model;

/// <summary>How a service is exposed (Kubernetes <c>spec.type</c>).</summary>
public enum ServiceType
{
    /// <summary>A stable virtual IP inside the service CIDR; the Kubernetes default.</summary>
    ClusterIP = 0,

    /// <summary>A ClusterIP, and each port also listens on every node address at its <see cref="ServicePort.NodePort"/>.</summary>
    NodePort = 1,

    /// <summary>
    /// A NodePort, and each port also listens on <see cref="Service.LoadBalancerIP"/> and
    /// <see cref="Service.LoadBalancerIngress"/>, admitting only clients inside <see cref="Service.LoadBalancerSourceRanges"/>.
    /// </summary>
    LoadBalancer = 2,

    /// <summary>An alias for the DNS name in <see cref="Service.ExternalName"/>: no virtual IP, no proxying; discovery answers it.</summary>
    ExternalName = 3,
}
