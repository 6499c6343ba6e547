using System.Net;

namespace FastProxy.Transport.Memory;

/// <summary>The client-side endpoint of a memory connection whose listener is not bound to an IP endpoint.</summary>
internal sealed class MemoryEndPoint : EndPoint
{
    private readonly string _name;

    public MemoryEndPoint(string name)
    {
        _name = name;
    }

    public override string ToString() => _name;

    public override bool Equals(object? obj) => obj is MemoryEndPoint other && other._name == _name;

    public override int GetHashCode() => _name.GetHashCode(StringComparison.Ordinal);
}
