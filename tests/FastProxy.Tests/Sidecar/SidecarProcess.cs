using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace FastProxy.Sidecar.Tests;

/// <summary>
/// The real <c>fastproxy</c> executable (or a sample built next to the tests) run as a process with arguments: every line of its output
/// (stderr lines prefixed <c>stderr: </c>), bounded waits for a line or for exit, SIGTERM by PID, and
/// a kill on dispose if it is still running.
/// </summary>
internal sealed class SidecarProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _lineAdded = new(0);

    private SidecarProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public int ExitCode => _process.ExitCode;

    public string Output => string.Join('\n', _lines);

    public IEnumerable<string> Lines => _lines;

    public static SidecarProcess Start(params string[] args) => StartDll("FastProxy.Sidecar.dll", workingDirectory: null, args);

    /// <summary>Starts <c>dotnet DLL ARGS</c> for a dll copied next to the tests, in <paramref name="workingDirectory"/> when given.</summary>
    public static SidecarProcess StartDll(string dll, string? workingDirectory, params string[] args)
        => StartProgram("dotnet", [Path.Combine(AppContext.BaseDirectory, dll), .. args], workingDirectory);

    /// <summary>Starts any program (e.g. <c>unshare</c> wrapping the sidecar in a network namespace of its own).</summary>
    public static SidecarProcess StartProgram(string program, IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var sidecarProcess = new SidecarProcess(process);
        process.OutputDataReceived += (_, e) => sidecarProcess.Add(e.Data);
        process.ErrorDataReceived += (_, e) => sidecarProcess.Add(e.Data is null ? null : "stderr: " + e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sidecarProcess;
    }

    /// <summary>Runs a command to its end and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunToEndAsync(params string[] args)
    {
        await using var process = Start(args);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, process.Output);
    }

    /// <summary>Waits until a line containing <paramref name="text"/> appeared (also one that appeared before the call).</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (true)
        {
            if (_lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            try
            {
                await _lineAdded.WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No line containing \"{text}\" within {timeout}; output:\n{Output}");
            }
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Still running after {timeout}; output:\n{Output}");
        }

        _process.WaitForExit();   // drains the redirected output
        return _process.ExitCode;
    }

    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
        _lineAdded.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        _lines.Enqueue(line);
        _lineAdded.Release();
    }
}
