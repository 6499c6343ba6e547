using System.Diagnostics;
using System.Globalization;
using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Discovery;

/// <summary>
/// The environment variables the kubelet gives a pod for the services of its namespace
/// (<c>pkg/kubelet/envvars</c>): <c>{SVC}_SERVICE_HOST</c>, <c>{SVC}_SERVICE_PORT</c>,
/// <c>{SVC}_SERVICE_PORT_{NAME}</c>, and the Docker-link family <c>{SVC}_PORT</c>,
/// <c>{SVC}_PORT_{N}_{PROTO}</c> with <c>_PROTO</c>, <c>_PORT</c> and <c>_ADDR</c>.
/// </summary>
public static class ServiceEnvironment
{
    // The API server's service, which every pod gets variables for whatever its namespace.
    private const string MasterService = "kubernetes";

    /// <summary>
    /// Returns the variables for a pod in <paramref name="namespace"/>, sorted by name: every service of
    /// that namespace with a virtual IP (headless and ExternalName services have none and get no
    /// variables), plus, outside <c>default</c>, the <c>kubernetes</c> service of <c>default</c> when it exists, as the kubelet does.
    /// </summary>
    /// <param name="snapshot">The catalog version to read.</param>
    /// <param name="namespace">The pod's namespace.</param>
    public static IReadOnlyList<KeyValuePair<string, string>> For(CatalogSnapshot snapshot, string @namespace)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        // By service name, as the kubelet's getServiceEnvVarMap: a service of the pod's own namespace named
        // "kubernetes" wins over the master service.
        var chosen = new Dictionary<string, ServiceSnapshot>(StringComparer.Ordinal);
        foreach (var service in snapshot.Services.Values)
        {
            if (service.ClusterIP is null || service.Ports.IsEmpty)
            {
                continue;
            }

            if (string.Equals(service.Id.Namespace, @namespace, StringComparison.Ordinal))
            {
                chosen[service.Id.Name] = service;
            }
            else if (service.Id is { Namespace: NamespacedName.DefaultNamespace, Name: MasterService })
            {
                chosen.TryAdd(MasterService, service);
            }
        }

        var variables = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var service in chosen.Values)
        {
            Add(variables, service, service.ClusterIP!);
        }

        return [.. variables];
    }

    /// <summary>
    /// Adds the variables of <see cref="For"/> to <paramref name="startInfo"/>'s environment, which starts
    /// as a copy of this process's: the child sees both, and a service variable replaces an inherited one
    /// of the same name (a stale value from an outer shell must not win over the catalog).
    /// </summary>
    /// <param name="startInfo">The process to start.</param>
    /// <param name="snapshot">The catalog version to read.</param>
    /// <param name="namespace">The namespace the process plays a pod of.</param>
    public static void ApplyTo(ProcessStartInfo startInfo, CatalogSnapshot snapshot, string @namespace)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        foreach (var (name, value) in For(snapshot, @namespace))
        {
            startInfo.Environment[name] = value;
        }
    }

    /// <summary>Kubernetes' <c>makeEnvVariableName</c>: upper case, '-' becomes '_'.</summary>
    /// <param name="name">A service or port name.</param>
    public static string VariableName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Replace('-', '_').ToUpperInvariant();
    }

    private static void Add(SortedDictionary<string, string> variables, ServiceSnapshot service, IPAddress clusterIP)
    {
        var prefix = VariableName(service.Service.Name);
        var host = clusterIP.ToString();
        var ports = service.Ports;
        variables[prefix + "_SERVICE_HOST"] = host;
        variables[prefix + "_SERVICE_PORT"] = Number(ports[0].Port.Port);
        foreach (var port in ports)
        {
            if (port.Port.Name.Length > 0)
            {
                variables[$"{prefix}_SERVICE_PORT_{VariableName(port.Port.Name)}"] = Number(port.Port.Port);
            }
        }

        for (var i = 0; i < ports.Length; i++)
        {
            var port = ports[i].Port;
            var protocol = port.Protocol == ServiceProtocol.Udp ? "UDP" : "TCP";
            var url = $"{protocol.ToLowerInvariant()}://{new IPEndPoint(clusterIP, port.Port)}";
            if (i == 0)
            {
                // Docker special-cases the first port.
                variables[prefix + "_PORT"] = url;
            }

            var portPrefix = $"{prefix}_PORT_{Number(port.Port)}_{protocol}";
            variables[portPrefix] = url;
            variables[portPrefix + "_PROTO"] = protocol.ToLowerInvariant();
            variables[portPrefix + "_PORT"] = Number(port.Port);
            variables[portPrefix + "_ADDR"] = host;
        }
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
