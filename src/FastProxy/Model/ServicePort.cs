namespace FastProxy.Model;

/// <summary>One port a service exposes on its virtual IP and the pod port it forwards to.</summary>
public sealed record ServicePort
{
    /// <summary>The port's name; required when a service has more than one port. Defaults to empty.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>The transport protocol. Defaults to <see cref="ServiceProtocol.Tcp"/>.</summary>
    public ServiceProtocol Protocol { get; init; } = ServiceProtocol.Tcp;

    /// <summary>The port on the virtual IP, 1-65535.</summary>
    public required int Port { get; init; }

    /// <summary>The port on each pod, 1-65535. Defaults to <see cref="Port"/> when 0 and no <see cref="TargetPortName"/> is given, as in Kubernetes.</summary>
    public int TargetPort { get; init; }

    /// <summary>
    /// A named target port (<c>targetPort: http</c>): resolved per pod from its <see cref="Pod.ContainerPorts"/>,
    /// so pods may map the name to different numbers; a pod without a port of that name and protocol is
    /// not an endpoint of this port. Explicit endpoints match by <see cref="Name"/> instead. Null when the
    /// target port is a number. Defaults to null.
    /// </summary>
    public string? TargetPortName { get; init; }

    /// <summary>
    /// The port every node address listens on for <see cref="ServiceType.NodePort"/> and
    /// <see cref="ServiceType.LoadBalancer"/> services, 30000-32767; 0 lets the catalog allocate one,
    /// stable across restarts. Defaults to 0.
    /// </summary>
    public int NodePort { get; init; }

    /// <summary>The pod port actually used: <see cref="TargetPort"/>, or <see cref="Port"/> when none was given.</summary>
    public int EffectiveTargetPort => TargetPort == 0 ? Port : TargetPort;
}
