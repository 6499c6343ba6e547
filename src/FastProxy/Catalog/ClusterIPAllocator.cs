using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// Chooses a virtual IP for a service that names none: a hash of namespace/name picks the first
/// candidate in the service CIDR, so a restart with the same services gives the same addresses;
/// collisions probe forward.
/// </summary>
internal sealed class ClusterIPAllocator
{
    private readonly uint _first;
    private readonly uint _count;

    public ClusterIPAllocator(IPNetwork cidr)
    {
        if (cidr.BaseAddress.AddressFamily != AddressFamily.InterNetwork || cidr.PrefixLength > 30)
        {
            throw new ArgumentException($"The service CIDR must be an IPv4 range of /30 or larger, got {cidr}.", nameof(cidr));
        }

        Cidr = cidr;
        var network = BinaryPrimitives.ReadUInt32BigEndian(cidr.BaseAddress.GetAddressBytes());
        var size = 1u << (32 - cidr.PrefixLength);
        // Skip the network and broadcast addresses, as Kubernetes' allocator does.
        _first = network + 1;
        _count = size - 2;
    }

    public IPNetwork Cidr { get; }

    /// <summary>Returns the first free candidate for <paramref name="id"/>, or null when the range is full.</summary>
    public IPAddress? Allocate(NamespacedName id, Func<IPAddress, bool> isTaken)
    {
        var start = (uint)(Fnv1a(id) % _count);
        for (uint i = 0; i < _count; i++)
        {
            var candidate = ToAddress(_first + ((start + i) % _count));
            if (!isTaken(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static IPAddress ToAddress(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    private static ulong Fnv1a(NamespacedName id)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(id.ToString()))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }
}
