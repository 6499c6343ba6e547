using System.Numerics;
using FastProxy.Model;

namespace FastProxy.Balancing;

/// <summary>
/// A tournament tree over one endpoint set that keeps the least-loaded endpoint at its root, so a
/// least-connections pick over thousands of endpoints is one read instead of a scan. Each endpoint
/// refreshes its path to the root (log2 n comparisons) whenever its connection count changes.
/// </summary>
/// <remarks>
/// <para>
/// Order: open connections ÷ weight, then connects started ÷ weight (so endpoints tied on load take
/// turns, also when every connection is short and loads sit at zero), then position. An endpoint that
/// left the service loses to any other.
/// </para>
/// <para>
/// Updates are lock-free: each node is recomputed from its two children and written. Two updates racing
/// through one node can leave it a step behind until the next update passes there; counts move while a
/// pick runs anyway, so least-connections is never exact under concurrency, only close. The picker
/// checks the root's endpoint is still in the service.
/// </para>
/// </remarks>
internal sealed class LeastLoadTree
{
    private readonly EndpointState[] _endpoints;

    // Heap layout: node 1 is the root, node k's children are 2k and 2k + 1, leaf i is node _leafBase + i.
    // Each node holds the index of the better endpoint below it (-1: padding past the last endpoint).
    private readonly int[] _winners;
    private readonly int _leafBase;

    public LeastLoadTree(EndpointState[] endpoints)
    {
        _endpoints = endpoints;
        _leafBase = (int)BitOperations.RoundUpToPowerOf2((uint)endpoints.Length);
        _winners = new int[2 * _leafBase];
        for (var i = 0; i < _leafBase; i++)
        {
            _winners[_leafBase + i] = i < endpoints.Length ? i : -1;
        }

        for (var node = _leafBase - 1; node >= 1; node--)
        {
            _winners[node] = Better(_winners[2 * node], _winners[2 * node + 1]);
        }

        // From now on the endpoints report their changes here (the newest tree of their port wins).
        for (var i = 0; i < endpoints.Length; i++)
        {
            endpoints[i].TrackLoadIn(new Leaf(this, i));
        }
    }

    /// <summary>The index of the least-loaded endpoint.</summary>
    public int Least => Volatile.Read(ref _winners[1]);

    private void Update(int index)
    {
        for (var node = (_leafBase + index) >> 1; node >= 1; node >>= 1)
        {
            var winner = Better(Volatile.Read(ref _winners[2 * node]), Volatile.Read(ref _winners[(2 * node) + 1]));
            Volatile.Write(ref _winners[node], winner);
        }
    }

    private int Better(int a, int b)
    {
        if (a < 0 || b < 0)
        {
            return a < 0 ? b : a;
        }

        var x = _endpoints[a];
        var y = _endpoints[b];
        if (x.IsRemoved != y.IsRemoved)
        {
            return x.IsRemoved ? b : a;
        }

        var byLoad = EndpointLoad.Compare(x.ActiveConnections, x.Weight, y.ActiveConnections, y.Weight);
        if (byLoad != 0)
        {
            return byLoad < 0 ? a : b;
        }

        return EndpointLoad.Compare(x.ConnectsStarted, x.Weight, y.ConnectsStarted, y.Weight) <= 0 ? a : b;
    }

    /// <summary>One endpoint's place in a tree: what the endpoint calls when its count changes.</summary>
    internal sealed class Leaf(LeastLoadTree tree, int index)
    {
        public void Update() => tree.Update(index);
    }
}
