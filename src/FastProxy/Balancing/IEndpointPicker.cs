using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// The data-plane half of a balancing strategy: immutable apart from its own counters, built once per
/// endpoint set, called once per new connection.
/// </summary>
/// <remarks><see cref="Pick"/> must be synchronous, lock-free and allocation-free: it runs on the accept path.</remarks>
public interface IEndpointPicker
{
    /// <summary>Chooses an endpoint for a new flow, or returns null when there is none.</summary>
    /// <param name="context">The flow and the attempt number; on a retry, pickers should return a different endpoint when they have one.</param>
    EndpointState? Pick(in PickContext context);
}
