using System.Net;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>One would-be endpoint of a service port, before it is matched with the endpoint state that carries its counters.</summary>
internal readonly record struct EndpointCandidate(IPEndPoint EndPoint, NamespacedName? Pod, int Weight, EndpointPlacement Placement, EndpointConditions Conditions);

/// <summary>Turns selected pods and explicit endpoints into the endpoints of one service port, with Kubernetes' conditions.</summary>
internal static class EndpointSources
{
    // The mirroring controller leaves serving unset, which kube-proxy reads as true.
    private static readonly EndpointConditions NotReady = new(false, true, false);

    /// <summary>Pods chosen by the selector, as the EndpointSlice controller maps them (<c>podToEndpoint</c>).</summary>
    public static void FromPods(Service service, ServicePort port, IReadOnlyList<Pod> pods, List<EndpointCandidate> into, bool anyPortNumber = false)
    {
        foreach (var pod in pods)
        {
            var targetPort = anyPortNumber ? 0 : TargetPort(port, pod);
            if (targetPort == 0 && !anyPortNumber)
            {
                // The pod has no container port of that name: it is not an endpoint of this port.
                continue;
            }

            var serving = pod.Ready;
            var ready = service.PublishNotReadyAddresses || (serving && !pod.Terminating);
            var hostname = pod.Hostname is not null && string.Equals(pod.Subdomain, service.Name, StringComparison.Ordinal) ? pod.Hostname : null;
            into.Add(new EndpointCandidate(
                new IPEndPoint(pod.Address, targetPort),
                pod.Id,
                pod.Weight,
                new EndpointPlacement(pod.NodeName, pod.Zone, hostname),
                new EndpointConditions(ready, serving, pod.Terminating)));
        }
    }

    /// <summary>Endpoints of every slice that has a port of the service port's name and protocol.</summary>
    public static void FromSlices(ServicePort port, IEnumerable<EndpointSlice> slices, List<EndpointCandidate> into, bool anyPortNumber = false)
    {
        foreach (var slice in slices)
        {
            var number = anyPortNumber ? 0 : Match(port, slice.Ports);
            if (number == 0 && !anyPortNumber)
            {
                continue;
            }

            foreach (var endpoint in slice.Endpoints)
            {
                into.Add(new EndpointCandidate(
                    new IPEndPoint(endpoint.Addresses[0], number),
                    null,
                    1,
                    new EndpointPlacement(endpoint.NodeName, endpoint.Zone, endpoint.Hostname),
                    endpoint.Conditions));
            }
        }
    }

    /// <summary>The addresses of a core/v1 Endpoints object, as the mirroring controller turns them into a slice.</summary>
    public static void FromEndpoints(ServicePort port, Endpoints endpoints, List<EndpointCandidate> into, bool anyPortNumber = false)
    {
        foreach (var subset in endpoints.Subsets)
        {
            var number = anyPortNumber ? 0 : Match(port, subset.Ports);
            if (number == 0 && !anyPortNumber)
            {
                continue;
            }

            Add(subset.Addresses, EndpointConditions.ReadyAndServing);
            Add(subset.NotReadyAddresses, NotReady);

            void Add(IEnumerable<EndpointAddress> addresses, EndpointConditions conditions)
            {
                foreach (var address in addresses)
                {
                    into.Add(new EndpointCandidate(new IPEndPoint(address.IP, number), null, 1, new EndpointPlacement(address.NodeName, null, address.Hostname), conditions));
                }
            }
        }
    }

    /// <summary>The pod port a service port reaches on <paramref name="pod"/>; 0 when a named target port is missing there.</summary>
    private static int TargetPort(ServicePort port, Pod pod)
    {
        if (port.TargetPortName is not { } name)
        {
            return port.EffectiveTargetPort;
        }

        foreach (var containerPort in pod.ContainerPorts)
        {
            if (containerPort.Protocol == port.Protocol && string.Equals(containerPort.Name, name, StringComparison.Ordinal))
            {
                return containerPort.Port;
            }
        }

        return 0;
    }

    /// <summary>Explicit endpoints serve a service port through the port of the same name and protocol (the only one, for an unnamed port).</summary>
    private static int Match(ServicePort port, IEnumerable<EndpointPort> ports)
    {
        foreach (var candidate in ports)
        {
            if (candidate.Protocol == port.Protocol && string.Equals(candidate.Name ?? string.Empty, port.Name ?? string.Empty, StringComparison.Ordinal))
            {
                return candidate.Port;
            }
        }

        return 0;
    }
}
