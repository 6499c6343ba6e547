using FastProxy.Affinity;
using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Forwarding;

/// <summary>
/// Which endpoint a new connection tries next: shared by the proxy's forwarder and the in-process
/// <see cref="Discovery.ServiceConnector"/>, so both balance, stick and retry the same way.
/// </summary>
internal static class EndpointChoice
{
    // How many further attempts a picker is asked for when it offers an endpoint this connection already tried.
    private const int ExtraPicks = 3;

    /// <summary>
    /// The endpoint for one connect attempt: the client's affinity endpoint on the first attempt, else
    /// the picker's choice; never one this connection already tried or one that left the service, as
    /// long as another exists.
    /// </summary>
    public static EndpointState Choose(PortRoute route, IEndpointPicker picker, in PickContext context, SessionAffinityTable? affinity, ClientAddress clientAddress, ref TriedEndpoints tried)
    {
        EndpointState? endpoint = null;
        var sticky = context.Attempt == 0 && affinity is not null && affinity.TryGet(clientAddress, out endpoint);
        if (sticky && !route.Takes(endpoint!))
        {
            // The endpoint is still in the service but this route no longer sends new connections there
            // (not ready any more, or off this node for a Local policy): re-pick, and bind the client anew.
            affinity!.Forget(clientAddress, endpoint!);
            sticky = false;
        }

        if (!sticky)
        {
            endpoint = picker.Pick(context);

            // A picker's retry may land on an endpoint this connection already tried (a hash may well): its
            // next attempts are its own best second choices, so ask for those first.
            var next = context;
            for (var extra = 1; extra <= ExtraPicks && !IsUntried(endpoint, tried); extra++)
            {
                next = next.NextAttempt();
                endpoint = picker.Pick(next);
            }
        }

        if (!IsUntried(endpoint, tried))
        {
            // Still nothing new: walk the endpoint list from a flow-dependent start to the first untried one.
            var endpoints = route.Endpoints;
            var start = (int)(context.FlowHash % (uint)endpoints.Length);
            endpoint = endpoints[start];
            for (var i = 0; i < endpoints.Length; i++)
            {
                var candidate = endpoints[(start + i) % endpoints.Length];
                if (IsUntried(candidate, tried))
                {
                    endpoint = candidate;
                    break;
                }
            }
        }

        if (affinity is not null && !sticky && !tried.Contains(endpoint))
        {
            // A concurrent first connection of the same client may have bound it already: follow it.
            var bound = affinity.Bind(clientAddress, endpoint);
            if (!tried.Contains(bound))
            {
                endpoint = bound;
            }
        }

        tried.Add(endpoint);
        return endpoint;
    }

    /// <summary>An endpoint this connection may try next: one still in the service that it has not tried yet.</summary>
    private static bool IsUntried([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] EndpointState? endpoint, in TriedEndpoints tried)
        => endpoint is not null && !endpoint.IsRemoved && !tried.Contains(endpoint);
}
