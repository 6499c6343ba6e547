using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// Runs a command as a child the way a shell does: standard input, output and error inherited, its exit
/// code returned (128 + N when signal N ended it), and the termination signals this process receives
/// passed on to it, so the child decides when it ends and is never left running without us.
/// </summary>
internal static partial class ChildProcess
{
    /// <summary>Exit code when the command cannot be found or started, as a shell's "command not found".</summary>
    public const int CannotStart = 127;

    /// <summary>Starts <paramref name="start"/>, waits for it to end and returns its exit code.</summary>
    public static async Task<int> RunAsync(ProcessStartInfo start, TextWriter error)
    {
        start.UseShellExecute = false;
        Process child;
        try
        {
            child = Process.Start(start) ?? throw new Win32Exception("no process was started");
        }
        catch (Win32Exception ex)
        {
            await error.WriteLineAsync($"fastproxy env: cannot run \"{start.FileName}\": {ex.Message}").ConfigureAwait(false);
            return CannotStart;
        }

        using (child)
        {
            // Registered after the start, so a signal before it ends us as usual; from now on we outlive the child.
            var interactive = !Console.IsInputRedirected;
            using var term = Forward(PosixSignal.SIGTERM, SigTerm, child, forward: true);
            using var hangUp = Forward(PosixSignal.SIGHUP, SigHup, child, forward: true);
            using var quit = Forward(PosixSignal.SIGQUIT, SigQuit, child, forward: !interactive);

            // At a terminal, Ctrl+C reaches the whole foreground process group, the child included: passing
            // it on as well would make one Ctrl+C two, which many programs take as "stop now, don't clean up".
            using var interrupt = Forward(PosixSignal.SIGINT, SigInt, child, forward: !interactive);
            await child.WaitForExitAsync().ConfigureAwait(false);
            return child.ExitCode;
        }
    }

    private const int SigHup = 1;
    private const int SigInt = 2;
    private const int SigQuit = 3;
    private const int SigTerm = 15;

    private static PosixSignalRegistration Forward(PosixSignal signal, int number, Process child, bool forward)
        => PosixSignalRegistration.Create(signal, context =>
        {
            // Our own end waits for the child's: it gets the signal, we return its exit code.
            context.Cancel = true;
            if (forward && !OperatingSystem.IsWindows())
            {
                // A child that already ended gives ESRCH: nothing to do.
                _ = Kill(child.Id, number);
            }
        });

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
