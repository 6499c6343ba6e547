namespace FastProxy.Model;

/// <summary>How a service is exposed (Kubernetes <c>spec.type</c>).</summary>
public enum ServiceType
{
    /// <summary>A stable virtual IP inside the service CIDR; the Kubernetes default.</summary>
    ClusterIP = 0,
}
