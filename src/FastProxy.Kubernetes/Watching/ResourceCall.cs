using k8s;

namespace FastProxy.Kubernetes.Watching;

/// <summary>One resource of the API, cluster-wide or in one namespace: how to list a page of it and how to watch it.</summary>
/// <param name="List">Lists one page (<c>limit</c>) from a continue token (null for the first page).</param>
/// <param name="Watch">Watches from a resourceVersion, with bookmarks, for at most so many seconds; ERROR events go to the callback.</param>
internal sealed record ResourceCall<T, TList>(
    Func<string?, CancellationToken, Task<TList>> List,
    Func<string, int, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> Watch);
