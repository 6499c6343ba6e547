namespace FastProxy.Model;

/// <summary>The transport protocol of a service port (Kubernetes <c>ServicePort.protocol</c>).</summary>
public enum ServiceProtocol
{
    /// <summary>TCP, the Kubernetes default.</summary>
    Tcp = 0,

    /// <summary>UDP.</summary>
    Udp = 1,
}
