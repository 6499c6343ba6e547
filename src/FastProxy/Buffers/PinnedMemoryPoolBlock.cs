using System.Buffers;

namespace FastProxy.Buffers;

/// <summary>
/// One pinned block of a <see cref="PinnedBlockMemoryPool"/>. The block object itself is the
/// <see cref="IMemoryOwner{T}"/>, so renting from a warm pool allocates nothing.
/// </summary>
internal sealed class PinnedMemoryPoolBlock : IMemoryOwner<byte>
{
    internal PinnedMemoryPoolBlock(PinnedBlockMemoryPool pool, byte[] array)
    {
        Pool = pool;

        // The array is pinned for life (POH), so a Memory<byte> over it can be handed to sockets and
        // MemoryMarshal.TryGetArray still works for APIs that want an ArraySegment.
        Memory = array;
    }

    /// <summary>The pool the block returns to.</summary>
    public PinnedBlockMemoryPool Pool { get; }

    /// <inheritdoc />
    public Memory<byte> Memory { get; }

    /// <summary>Returns the block to its pool. Must be called exactly once per rent (Pipe does).</summary>
    public void Dispose() => Pool.Return(this);
}
