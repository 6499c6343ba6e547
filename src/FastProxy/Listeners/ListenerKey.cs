using System.Net;
using FastProxy.Model;

namespace FastProxy.Listeners;

/// <summary>What a listener is bound to; two service ports with the same key would share a socket, which validation forbids.</summary>
internal readonly record struct ListenerKey(ServiceProtocol Protocol, IPEndPoint EndPoint)
{
    public override string ToString() => $"{EndPoint}/{Protocol}";
}
