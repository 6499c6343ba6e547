using System.IO.Hashing;
using System.Text;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// Chooses a node port for a service port that names none, from Kubernetes' default range: a hash of
/// the service and port picks the first candidate, so a restart with the same services gives the same
/// ports; collisions probe forward.
/// </summary>
internal static class NodePortAllocator
{
    /// <summary>The lowest node port (Kubernetes' default <c>--service-node-port-range</c>).</summary>
    public const int First = 30000;

    /// <summary>The highest node port.</summary>
    public const int Last = 32767;

    public static int? Allocate(NamespacedName service, ServicePort port, Func<int, bool> isTaken)
        => Allocate(service, $"{port.Name}/{port.Protocol}", isTaken);

    /// <summary>Allocates for <paramref name="key"/> of <paramref name="service"/> (a port, or the service's health-check node port).</summary>
    public static int? Allocate(NamespacedName service, string key, Func<int, bool> isTaken)
    {
        const int count = Last - First + 1;
        var start = (int)(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes($"{service}/{key}")) % count);
        for (var i = 0; i < count; i++)
        {
            var candidate = First + ((start + i) % count);
            if (!isTaken(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
