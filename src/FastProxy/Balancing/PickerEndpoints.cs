using System.Collections.Immutable;
using System.Runtime.InteropServices;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>The one check every built-in strategy makes before building a picker.</summary>
internal static class PickerEndpoints
{
    /// <summary>The endpoints' backing array, shared rather than copied (both are immutable to pickers); throws on an empty set.</summary>
    public static EndpointState[] AsArray(ImmutableArray<EndpointState> endpoints)
    {
        if (endpoints.IsDefaultOrEmpty)
        {
            throw new ArgumentException("A picker needs at least one endpoint.", nameof(endpoints));
        }

        return ImmutableCollectionsMarshal.AsArray(endpoints)!;
    }
}
