using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Etcdserverpb;
using FastProxy.Etcd;
using Google.Protobuf;

namespace FastProxy.Tests.Etcd;

/// <summary>
/// A real etcd (Debian's etcd-server, /usr/bin/etcd) on a loopback address of its own in 127.210.0.0/16,
/// on free ports, with a temporary data directory; stopped by PID (SIGKILL, as a crash) and started again
/// on the same data, on its own port or on another one (so a test can change etcd where its clients cannot
/// see it). Fails the test when etcd is not installed; .ci/run installs it.
/// </summary>
internal sealed class EtcdServer : IAsyncDisposable
{
    private static int _next;
    private readonly string _etcd;
    private readonly DirectoryInfo _dataDir;
    private readonly IPAddress _address;
    private readonly int _peerPort;
    private Process? _process;
    private EtcdConnection? _connection;
    private readonly List<string> _output = [];

    private EtcdServer(string etcd, IPAddress address)
    {
        _etcd = etcd;
        _address = address;
        _dataDir = Directory.CreateTempSubdirectory("fastproxy-etcd-");
        ClientPort = FreePort(address);
        _peerPort = FreePort(address);
    }

    public int ClientPort { get; }

    public Uri ClientUrl => Url(ClientPort);

    /// <summary>A client of the server on its current port (for the test's own puts, deletes, leases and compactions).</summary>
    public EtcdConnection Client => _connection ?? throw new InvalidOperationException("etcd is not running.");

    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    public static async Task<EtcdServer> StartAsync()
    {
        var etcd = ExternalTool.Require("etcd", "etcd-server");
        var n = Interlocked.Increment(ref _next);
        var server = new EtcdServer(etcd, IPAddress.Parse($"127.210.{n % 250}.{1 + (Environment.ProcessId % 250)}"));
        try
        {
            await server.StartAgainAsync();
        }
        catch
        {
            // StartAgainAsync stopped etcd; the data directory goes too.
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Starts etcd on the existing data directory, on <paramref name="clientPort"/> (default: its own port); waits until it answers.</summary>
    public async Task StartAgainAsync(int? clientPort = null)
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("etcd is running already.");
        }

        var client = Url(clientPort ?? ClientPort);
        var peer = Url(_peerPort);
        var start = new ProcessStartInfo(_etcd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[
            "--name", "test", "--data-dir", _dataDir.FullName,
            "--listen-client-urls", Bare(client), "--advertise-client-urls", Bare(client),
            "--listen-peer-urls", Bare(peer), "--initial-advertise-peer-urls", Bare(peer),
            "--initial-cluster", $"test={Bare(peer)}", "--initial-cluster-state", "new"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start etcd.");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        _connection = new EtcdConnection(client);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        try
        {
            while (true)
            {
                try
                {
                    await _connection.Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("/") }, deadline: DateTime.UtcNow.AddSeconds(2));
                    return;
                }
                catch (Grpc.Core.RpcException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(100);
                }
                catch (Grpc.Core.RpcException ex)
                {
                    throw new InvalidOperationException($"etcd did not start: {ex.Status.Detail}\n{Output}", ex);
                }
            }
        }
        catch
        {
            // Not ready in time while still running: kill it by PID, or it outlives the test.
            await StopAsync();
            throw;
        }
    }

    /// <summary>Kills etcd by its PID (as a crash) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _connection?.Dispose();
        _connection = null;
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        process.Dispose();
        _process = null;
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output.TakeLast(40));
            }
        }
    }

    public async Task<long> PutAsync(string key, string value, long lease = 0)
        => (await Client.Kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), Lease = lease }, deadline: DateTime.UtcNow.AddSeconds(10))).Header.Revision;

    public async Task<long> DeleteAsync(string key)
        => (await Client.Kv.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) }, deadline: DateTime.UtcNow.AddSeconds(10))).Header.Revision;

    public async Task<long> GrantLeaseAsync(long ttlSeconds)
        => (await Client.Lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = ttlSeconds }, deadline: DateTime.UtcNow.AddSeconds(10))).ID;

    public async Task CompactAsync(long revision)
        => await Client.Kv.CompactAsync(new CompactionRequest { Revision = revision, Physical = true }, deadline: DateTime.UtcNow.AddSeconds(10));

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            _dataDir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Uri Url(int port) => new($"http://{_address}:{port}");

    // etcd refuses a URL with a path, even "/".
    private static string Bare(Uri url) => url.GetLeftPart(UriPartial.Authority);

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
        }
    }

    internal static int FreePort(IPAddress address)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
