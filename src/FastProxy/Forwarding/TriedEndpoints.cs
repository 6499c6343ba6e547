using System.Runtime.CompilerServices;
using FastProxy.Model;

namespace FastProxy.Forwarding;

/// <summary>The endpoints one client connection has tried, inline in the connect state machine (no allocation).</summary>
[InlineArray(ProxyServerOptions.MaxConnectAttempts)]
internal struct TriedEndpoints
{
    private EndpointState? _first;

    public readonly bool Contains(EndpointState endpoint)
    {
        foreach (var tried in this)
        {
            if (tried is null)
            {
                return false;
            }

            if (ReferenceEquals(tried, endpoint))
            {
                return true;
            }
        }

        return false;
    }

    public void Add(EndpointState endpoint)
    {
        for (var i = 0; i < ProxyServerOptions.MaxConnectAttempts; i++)
        {
            if (this[i] is null)
            {
                this[i] = endpoint;
                return;
            }
        }
    }
}
