using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>The <c>ports</c> of an Endpoints subset or an EndpointSlice: name, port, protocol.</summary>
internal static class EndpointPorts
{
    /// <param name="reader">The mapping holding <c>ports</c>.</param>
    /// <param name="portRequired">
    /// Endpoints require a port; an EndpointSlice port without one means "all ports" in the API, which
    /// kube-proxy (and FastProxy) cannot forward to: it is reported and skipped.
    /// </param>
    public static ImmutableArray<EndpointPort> Read(MapReader reader, bool portRequired)
    {
        var ports = ImmutableArray.CreateBuilder<EndpointPort>();
        foreach (var (port, _) in reader.Maps("ports", Schemas.EndpointPort))
        {
            var number = port.Int("port");
            var name = port.String("name") ?? string.Empty;
            var protocol = Choices.Protocol(port);
            if (number is null)
            {
                if (!port.Exists || port.Get("port") is not null)
                {
                    // Nothing there, or a wrong-typed port that was reported already.
                    continue;
                }

                if (portRequired)
                {
                    port.Scope.Error(port.PathOf("port"), port.Node, "required");
                }
                else
                {
                    port.Scope.Warning(port.Path, port.Node, "a port without a number cannot be forwarded to; ignored");
                }

                continue;
            }

            Values.CheckPort(port.Scope, port.Get("port"), port.PathOf("port"), number.Value);
            ports.Add(new EndpointPort { Name = name, Port = number.Value, Protocol = protocol });
        }

        return ports.ToImmutable();
    }
}
