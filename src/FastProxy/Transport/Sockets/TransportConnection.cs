using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace FastProxy.Transport.Sockets;

/// <summary>
/// The part of a <see cref="ConnectionContext"/> that both transports share: identity, items and the
/// feature collection (see <c>TransportConnection.FeatureCollection.cs</c>). Modelled on Kestrel's
/// <c>TransportConnection</c>: the connection is its own feature collection and implements the common
/// features itself, so exposing them costs no allocation per connection.
/// </summary>
/// <remarks>
/// It lives in the sockets namespace only because the project keeps transports to two namespaces; the memory
/// transport derives from it too so both expose exactly the same features.
/// </remarks>
internal abstract partial class TransportConnection : ConnectionContext
{
    private string? _connectionId;
    private IDictionary<object, object?>? _items;
    /// <summary>
    /// Guards this connection's state changes (dispose here, close in the derived transport): one lock per
    /// connection, not one per concern, since idle connections are counted in thousands.
    /// </summary>
    private protected Lock StateLock { get; } = new();
    private Task? _disposeTask;

    /// <summary>Lazily generated: most connections never log, and formatting an id costs an allocation.</summary>
    public override string ConnectionId
    {
        get => _connectionId ??= CorrelationIdGenerator.GetNextId();
        set => _connectionId = value;
    }

    public override IFeatureCollection Features => this;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    /// <summary>Set by the derived constructor; middleware may replace it (IConnectionTransportFeature).</summary>
    public override IDuplexPipe Transport { get; set; } = null!;

    /// <summary>The pool the connection's pipes rent from (IMemoryPoolFeature).</summary>
    public abstract MemoryPool<byte> MemoryPool { get; }

    /// <summary>
    /// Aborts with a generic reason. <see cref="ConnectionContext.Abort()"/> does the same; this override exists
    /// so that <c>IConnectionLifetimeFeature.Abort()</c> and the context agree on the message.
    /// </summary>
    /// <summary>Runs <see cref="DisposeCoreAsync"/> once; concurrent and later callers wait for that same run.</summary>
    public sealed override async ValueTask DisposeAsync()
    {
        Task task;
        lock (StateLock)
        {
            task = _disposeTask ??= DisposeCoreAsync();
        }

        await task.ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The transport's orderly shutdown; called once.</summary>
    protected abstract Task DisposeCoreAsync();

    public override void Abort() =>
        Abort(new ConnectionAbortedException("The connection was aborted by the application via ConnectionContext.Abort()."));
}
