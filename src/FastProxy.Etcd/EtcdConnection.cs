using Etcdserverpb;
using Google.Protobuf;
using Grpc.Net.Client;

namespace FastProxy.Etcd;

/// <summary>
/// One HTTP/2 channel to etcd and the three v3 services FastProxy uses on it. HTTP/2 keep-alive pings
/// notice a dead or unreachable server within seconds, even on an idle watch stream.
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    private readonly GrpcChannel _channel;

    public EtcdConnection(Uri endpoint)
    {
        _channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            // A list of thousands of pods is larger than gRPC's 4 MiB default.
            MaxReceiveMessageSize = 256 * 1024 * 1024,
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                KeepAlivePingDelay = TimeSpan.FromSeconds(5),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                EnableMultipleHttp2Connections = true,
            },
            DisposeHttpClient = true,
        });
        Kv = new KV.KVClient(_channel);
        Watch = new Watch.WatchClient(_channel);
        Lease = new Lease.LeaseClient(_channel);
    }

    public KV.KVClient Kv { get; }

    public Watch.WatchClient Watch { get; }

    public Lease.LeaseClient Lease { get; }

    /// <summary>The end of the range of every key that starts with <paramref name="prefix"/> (etcd's "prefix end").</summary>
    public static ByteString RangeEnd(string prefix)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(prefix);
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xFF)
            {
                bytes[i]++;
                return ByteString.CopyFrom(bytes, 0, i + 1);
            }
        }

        return ByteString.CopyFrom(0);
    }

    public static void ValidateEndpoint(Uri? endpoint, string name)
    {
        if (endpoint is null || !endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"{name}: expected an etcd client URL such as http://127.0.0.1:2379, got \"{endpoint}\".", name);
        }
    }

    public void Dispose() => _channel.Dispose();
}
