using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Tests;

namespace FastProxy.Udp.Tests;

/// <summary>
/// Debian's dnsmasq (package dnsmasq-base) as a real, independent DNS server on one loopback address:
/// no configuration file, no upstream, no /etc/hosts, only the records given. Stopped by its PID.
/// </summary>
internal sealed class DnsmasqProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private DnsmasqProcess(Process process, IPEndPoint endPoint)
    {
        _process = process;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>What dnsmasq logged so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts dnsmasq on <paramref name="address"/> and <paramref name="port"/> (0: a free one) answering each name in <paramref name="records"/> with its address.</summary>
    public static async Task<DnsmasqProcess> StartAsync(IPAddress address, IReadOnlyDictionary<string, IPAddress> records, int port = 0)
    {
        var path = File.Exists("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : ExternalTool.Require("dnsmasq", "dnsmasq-base");
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            // A free port on the test's own address: nothing else binds there, so it stays free until dnsmasq takes it.
            probe.Bind(new IPEndPoint(address, port));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["--no-daemon", "--conf-file=/dev/null", $"--port={port}", $"--listen-address={address}", "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=", "--log-facility=-", "--log-queries"])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, ip) in records)
        {
            start.ArgumentList.Add($"--address=/{name}/{ip}");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dnsmasq.");
        var dnsmasq = new DnsmasqProcess(process, new IPEndPoint(address, port));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (dnsmasq._log)
            {
                dnsmasq._log.AppendLine(e.Data);
            }

            if (e.Data.Contains("started, version", StringComparison.Ordinal))
            {
                started.TrySetResult();
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Task.WhenAny(started.Task, process.WaitForExitAsync()).WaitAsync(StartTimeout);
            Assert.True(started.Task.IsCompleted && !process.HasExited, $"dnsmasq did not start:\n{dnsmasq.Log}");
            return dnsmasq;
        }
        catch
        {
            await dnsmasq.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(StartTimeout);
        }

        _process.Dispose();
    }
}
