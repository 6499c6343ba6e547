namespace FastProxy.Model;

/// <summary>A port a pod's container declares (<c>spec.containers[].ports[]</c>); its name is what a named <see cref="ServicePort.TargetPortName"/> resolves.</summary>
public sealed record ContainerPort
{
    /// <summary>The port's name (an IANA service name, at most 15 characters); empty when unnamed. Defaults to empty.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>The port number on the pod's address, 1-65535.</summary>
    public required int Port { get; init; }

    /// <summary>The protocol. Defaults to <see cref="ServiceProtocol.Tcp"/>.</summary>
    public ServiceProtocol Protocol { get; init; } = ServiceProtocol.Tcp;
}
