using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;

namespace FastProxy.Buffers;

/// <summary>
/// A <see cref="MemoryPool{T}"/> of fixed-size blocks that live on the pinned object heap, modelled on
/// Kestrel's <c>PinnedBlockMemoryPool</c>.
/// </summary>
/// <remarks>
/// <para>
/// Blocks are pinned because sockets pin their buffers for the duration of every receive and send;
/// a block that is already pinned costs nothing to hand to the OS and never fragments the regular heap.
/// Each block is its own array from <see cref="GC.AllocateUninitializedArray{T}(int, bool)"/>
/// (Kestrel moved from 128 KiB slabs to per-block arrays once the POH existed: slabs only pay off when
/// pinning has a cost, and they make it impossible to free a single idle block).
/// </para>
/// <para>
/// Free blocks sit in a <see cref="ConcurrentQueue{T}"/>; a steady-state rent/return is a dequeue and an
/// enqueue on a ring buffer segment, with no allocation. Disposing a rented <see cref="IMemoryOwner{T}"/>
/// returns the block. Rents bigger than <see cref="BlockSize"/> throw: <c>Pipe</c> never asks for more than
/// <see cref="MaxBufferSize"/> and falls back to its own allocation for bigger size hints.
/// </para>
/// </remarks>
internal sealed class PinnedBlockMemoryPool : MemoryPool<byte>
{
    private readonly ConcurrentQueue<PinnedMemoryPoolBlock> _blocks = new();
    private readonly int _blockSize;

    // Blocks currently handed out (rented and not yet returned). Tests use it to prove that idle
    // connections hold no memory; it is also the number a future idle-eviction policy would read.
    private long _rentedBlocks;

    // Blocks ever allocated by this pool (free + rented); lets tests and diagnostics see pool growth.
    private long _allocatedBlocks;

    private volatile bool _isDisposed;

    /// <summary>Creates a pool whose blocks are <paramref name="blockSize"/> bytes.</summary>
    public PinnedBlockMemoryPool(int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        _blockSize = blockSize;
    }

    /// <summary>The size of every block in bytes.</summary>
    public int BlockSize => _blockSize;

    /// <inheritdoc />
    public override int MaxBufferSize => _blockSize;

    /// <summary>Blocks currently rented and not yet returned.</summary>
    internal long RentedBlockCount => Volatile.Read(ref _rentedBlocks);

    /// <summary>Blocks this pool has allocated over its lifetime (free and rented).</summary>
    internal long AllocatedBlockCount => Volatile.Read(ref _allocatedBlocks);

    /// <inheritdoc />
    public override IMemoryOwner<byte> Rent(int size = -1)
    {
        if (size > _blockSize)
        {
            ThrowSizeTooLarge(size, _blockSize);
        }

        ObjectDisposedException.ThrowIf(_isDisposed, this);

        Interlocked.Increment(ref _rentedBlocks);
        if (_blocks.TryDequeue(out var block))
        {
            return block;
        }

        Interlocked.Increment(ref _allocatedBlocks);
        return new PinnedMemoryPoolBlock(this, GC.AllocateUninitializedArray<byte>(_blockSize, pinned: true));
    }

    /// <summary>Called by <see cref="PinnedMemoryPoolBlock.Dispose"/>.</summary>
    internal void Return(PinnedMemoryPoolBlock block)
    {
        Debug.Assert(block.Pool == this);
        Interlocked.Decrement(ref _rentedBlocks);

        // After disposal the block is simply dropped: the GC reclaims the pinned array once the last
        // Memory<byte> over it is gone, and we must not resurrect a pool that is being torn down.
        if (!_isDisposed)
        {
            _blocks.Enqueue(block);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (_isDisposed)
        {
            return;
        }

        _isDisposed = true;
        if (disposing)
        {
            // Drop our references so the free blocks become garbage now; rented blocks are dropped as
            // they come back (see Return).
            _blocks.Clear();
        }
    }

    private static void ThrowSizeTooLarge(int size, int blockSize) =>
        throw new ArgumentOutOfRangeException(nameof(size), size, $"The pool hands out blocks of at most {blockSize} bytes.");
}
