using System.Globalization;
using System.Net;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// The test assembly's entry point, used only by the capacity test: <c>dotnet FastProxy.Tests.dll
/// echo-backends PREFIX COUNT PORT LIFETIME_SECONDS</c> serves <see cref="TestBackend"/> echo pods on
/// PREFIX1..PREFIXn:PORT in a process of its own, so their sockets count against that process's
/// descriptor limit, not the test's. It stops by itself after its lifetime (the test kills it by PID
/// sooner). The test host never calls it (it loads the assembly, not its entry point).
/// </summary>
internal static class EchoBackendsProgram
{
    public const string Command = "echo-backends";
    public const string ReadyLine = "echo-backends ready";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 5 || args[0] != Command)
        {
            await Console.Error.WriteLineAsync($"usage: dotnet FastProxy.Tests.dll {Command} PREFIX COUNT PORT LIFETIME_SECONDS");
            return 2;
        }

        var limit = FileDescriptorLimit.RaiseSoftToHard();
        var count = int.Parse(args[2], CultureInfo.InvariantCulture);
        var port = int.Parse(args[3], CultureInfo.InvariantCulture);
        var backends = Enumerable.Range(1, count).Select(i => TestBackend.Start($"pod-{i}", new IPEndPoint(IPAddress.Parse(args[1] + i), port))).ToList();
        Console.WriteLine($"{ReadyLine}: {count} pods on {args[1]}1-{count}:{port}, open-file limit {limit}");
        await Task.Delay(TimeSpan.FromSeconds(int.Parse(args[4], CultureInfo.InvariantCulture)));
        foreach (var backend in backends)
        {
            await backend.DisposeAsync();
        }

        return 0;
    }
}
