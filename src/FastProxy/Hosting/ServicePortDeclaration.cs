namespace FastProxy.Hosting;

/// <summary>One port of a <see cref="ServiceDeclaration"/>: the fields of <see cref="Model.ServicePort"/>.</summary>
public sealed class ServicePortDeclaration
{
    /// <summary>The port's name; required when a service has more than one port. Defaults to empty.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The port on the virtual IP, 1-65535.</summary>
    public int Port { get; set; }

    /// <summary>The port on each pod; 0 means the same as <see cref="Port"/>. Defaults to 0.</summary>
    public int TargetPort { get; set; }

    /// <summary>A named target port, resolved per pod from <see cref="PodDeclaration.Ports"/>; null when the target port is a number. Defaults to null.</summary>
    public string? TargetPortName { get; set; }

    /// <summary>The node port of a NodePort or LoadBalancer service, 30000-32767; 0 allocates one. Defaults to 0.</summary>
    public int NodePort { get; set; }
}
