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

    /// <summary>The port on each pod, 1-65535. Defaults to <see cref="Port"/> when 0, as in Kubernetes.</summary>
    public int TargetPort { get; init; }

    /// <summary>The pod port actually used: <see cref="TargetPort"/>, or <see cref="Port"/> when none was given.</summary>
    public int EffectiveTargetPort => TargetPort == 0 ? Port : TargetPort;
}
