using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace FastProxy.Tests.Kubernetes;

/// <summary>
/// A stand-in for the Kubernetes API server on a loopback address, replaying recorded responses: list
/// requests get the current list of their path (or a queued one-off response such as a 410), watch
/// requests (<c>watch=true</c>) get the next queued watch stream as a chunked response of
/// newline-delimited events, then stay open (as a real watch does) until <see cref="DropWatches"/>,
/// <see cref="ResetWatches"/>, <see cref="StopAsync"/> or the script says close. Every request is recorded. HTTP/1.1, one request per
/// connection (<c>Connection: close</c>): the least protocol the real client needs.
/// </summary>
internal sealed class FakeApiServer : IAsyncDisposable
{
    private readonly IPEndPoint _endPoint;
    private readonly ConcurrentDictionary<string, string> _lists = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, string Body)>> _oneOffLists = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<WatchScript>> _watches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly ConcurrentDictionary<string, int> _held = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposed = new();
    private CancellationTokenSource _dropWatches = new();
    private CancellationTokenSource _resetWatches = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    private FakeApiServer(IPEndPoint endPoint) => _endPoint = endPoint;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public Uri Url => new($"http://{_endPoint.Address}:{_endPoint.Port}");

    /// <summary>Starts on a loopback address of its own (port chosen by the system).</summary>
    public static FakeApiServer Start(IPAddress address)
    {
        var server = new FakeApiServer(new IPEndPoint(address, 0));
        server.Bind();
        return server;
    }

    /// <summary>Writes a kubeconfig naming this server (context <c>fake</c>, a bearer token) and returns its path.</summary>
    public string WriteKubeconfig(string folder)
    {
        var path = Path.Combine(folder, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Url.ToString().TrimEnd('/')}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: tester
            current-context: fake
            users:
            - name: tester
              user:
                token: fixture-token
            """);
        return path;
    }

    /// <summary>The list every later list request of <paramref name="path"/> gets.</summary>
    public void SetList(string path, string json) => _lists[path] = json;

    /// <summary>A response for the next list request of <paramref name="path"/> only (e.g. a 410 or a 500).</summary>
    public void EnqueueListResponse(string path, int status, string body)
        => _oneOffLists.GetOrAdd(path, static _ => new()).Enqueue((status, body));

    /// <summary>The events of the next watch request of <paramref name="path"/>; <paramref name="close"/> ends the stream after them.</summary>
    public void EnqueueWatch(string path, IEnumerable<string> events, bool close = false)
        => _watches.GetOrAdd(path, static _ => new()).Enqueue(new WatchScript([.. events], close, 200, null));

    /// <summary>
    /// The next watch request of <paramref name="path"/> gets what a real API server would send: of
    /// <paramref name="history"/>, only the events after the resourceVersion the request asks for.
    /// </summary>
    public void EnqueueWatchHistory(string path, IEnumerable<string> history)
        => _watches.GetOrAdd(path, static _ => new()).Enqueue(new WatchScript([.. history], false, 200, null, AfterRequestedVersion: true));

    /// <summary>An HTTP error (e.g. 410 Gone with a Status body) for the next watch request of <paramref name="path"/>.</summary>
    public void EnqueueWatchStatus(string path, int status, string body)
        => _watches.GetOrAdd(path, static _ => new()).Enqueue(new WatchScript([], true, status, body));

    /// <summary>
    /// Completes when a watch on <paramref name="path"/> is being held open, so that a following
    /// <see cref="DropWatches"/> or <see cref="ResetWatches"/> ends it rather than racing the client's
    /// first watch request (which would then consume a script meant for the resumed watch).
    /// </summary>
    public Task WhenWatchHeldAsync(string path)
        => KubernetesTestEnvironment.EventuallyAsync(() => _held.TryGetValue(path, out var count) && count > 0, $"a watch on {path} is held open", TimeSpan.FromSeconds(10));

    /// <summary>Ends every watch stream that is open now (the client sees a clean end of stream).</summary>
    public void DropWatches()
    {
        var old = Interlocked.Exchange(ref _dropWatches, new CancellationTokenSource());
        old.Cancel();
        old.Dispose();
    }

    /// <summary>
    /// Resets every watch connection that is open now, mid-stream (no end chunk, a TCP RST): the client
    /// sees a broken connection, as when the API server or a proxy in between dies.
    /// </summary>
    public void ResetWatches()
    {
        var old = Interlocked.Exchange(ref _resetWatches, new CancellationTokenSource());
        old.Cancel();
        old.Dispose();
    }

    /// <summary>The API server goes away: the listener closes and every open connection is reset.</summary>
    public async Task StopAsync()
    {
        _listener?.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        foreach (var socket in _open.Keys)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (ObjectDisposedException)
            {
                // Closed by its own request meanwhile.
            }

            socket.Dispose();
        }
    }

    /// <summary>The API server comes back on the same address and port.</summary>
    public void Restart() => Bind();

    public IEnumerable<RecordedRequest> RequestsTo(string path) => Requests.Where(r => r.Path == path);

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        await StopAsync();
        _dropWatches.Dispose();
        _resetWatches.Dispose();
        _disposed.Dispose();
    }

    private void Bind()
    {
        var listener = new Socket(_endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);

        // Server-side TIME_WAIT sockets must not keep a restart from binding the same port again.
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(_endPoint);
        listener.Listen(64);
        if (_endPoint.Port == 0)
        {
            _endPoint.Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        }

        _listener = listener;
        _acceptLoop = AcceptLoopAsync(listener);
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            _open[socket] = 0;
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            var request = await ReadRequestAsync(stream);
            if (request is null)
            {
                return;
            }

            Requests.Enqueue(request);
            if (request.Query.Contains("watch=true", StringComparison.Ordinal))
            {
                await ServeWatchAsync(stream, request);
            }
            else
            {
                var (status, body) = ListResponse(request.Path);
                await WriteAsync(stream, $"HTTP/1.1 {status} {((HttpStatusCode)status)}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}");
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away, or the test stopped the server.
        }
        finally
        {
            _open.TryRemove(socket, out _);
        }
    }

    private (int Status, string Body) ListResponse(string path)
    {
        if (_oneOffLists.TryGetValue(path, out var queue) && queue.TryDequeue(out var oneOff))
        {
            return oneOff;
        }

        return _lists.TryGetValue(path, out var list)
            ? (200, list)
            : (404, $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}""");
    }

    private async Task ServeWatchAsync(NetworkStream stream, RecordedRequest request)
    {
        var script = _watches.TryGetValue(request.Path, out var queue) && queue.TryDequeue(out var next) ? next : new WatchScript([], Close: false, 200, null);
        if (script.Body is { } body)
        {
            await WriteAsync(stream, $"HTTP/1.1 {script.Status} {((HttpStatusCode)script.Status)}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}");
            return;
        }

        var reset = Volatile.Read(ref _resetWatches).Token;
        var hold = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token, Volatile.Read(ref _dropWatches).Token, reset);
        using (hold)
        {
            await WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
            var events = script.AfterRequestedVersion ? script.Events.Where(e => VersionOf(e) > VersionOf(request)) : script.Events;
            foreach (var line in events)
            {
                var bytes = Encoding.UTF8.GetByteCount(line) + 1;
                await WriteAsync(stream, $"{bytes:x}\r\n{line}\n\r\n");
            }

            if (!script.Close)
            {
                _held.AddOrUpdate(request.Path, 1, static (_, n) => n + 1);
                try
                {
                    await Task.Delay(Timeout.Infinite, hold.Token);
                }
                catch (OperationCanceledException)
                {
                }
                finally
                {
                    _held.AddOrUpdate(request.Path, 0, static (_, n) => n - 1);
                }
            }

            if (reset.IsCancellationRequested)
            {
                stream.Socket.LingerState = new LingerOption(true, 0);
                stream.Socket.Close();
                return;
            }

            await WriteAsync(stream, "0\r\n\r\n");
        }
    }

    private static long VersionOf(string watchEvent)
        => long.Parse(JsonNode.Parse(watchEvent)!["object"]!["metadata"]!["resourceVersion"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

    private static long VersionOf(RecordedRequest request)
        => long.Parse(request.Parameter("resourceVersion") ?? "0", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task WriteAsync(NetworkStream stream, string text)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        await stream.FlushAsync();
    }

    private static async Task<RecordedRequest?> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (read == 0)
            {
                return null;
            }

            length += read;
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            var lines = text[..end].Split("\r\n");
            var target = lines[0].Split(' ')[1];
            var question = target.IndexOf('?', StringComparison.Ordinal);
            var authorization = lines.Skip(1).FirstOrDefault(l => l.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase))?["Authorization:".Length..].Trim();
            return new RecordedRequest(
                question < 0 ? target : target[..question],
                question < 0 ? string.Empty : Uri.UnescapeDataString(target[(question + 1)..]),
                authorization);
        }

        return null;
    }

    private sealed record WatchScript(IReadOnlyList<string> Events, bool Close, int Status, string? Body, bool AfterRequestedVersion = false);
}

/// <summary>One request the fake API server got: path, decoded query string, Authorization header.</summary>
internal sealed record RecordedRequest(string Path, string Query, string? Authorization)
{
    public bool IsWatch => Query.Contains("watch=true", StringComparison.Ordinal);

    /// <summary>The value of one query parameter, or null.</summary>
    public string? Parameter(string name)
        => Query.Split('&').Select(p => p.Split('=', 2)).FirstOrDefault(p => p[0] == name) is { Length: 2 } pair ? pair[1] : null;
}
