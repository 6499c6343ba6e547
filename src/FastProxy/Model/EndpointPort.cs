namespace FastProxy.Model;

/// <summary>A port of explicitly given endpoints (<c>EndpointSlice.ports[]</c>, <c>Endpoints.subsets[].ports[]</c>): matched to a service port by name and protocol.</summary>
public sealed record EndpointPort
{
    /// <summary>The service port's name this port serves; empty for a service's single unnamed port. Defaults to empty.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>The port on every address of the slice or subset, 1-65535.</summary>
    public required int Port { get; init; }

    /// <summary>The protocol. Defaults to <see cref="ServiceProtocol.Tcp"/>.</summary>
    public ServiceProtocol Protocol { get; init; } = ServiceProtocol.Tcp;
}
