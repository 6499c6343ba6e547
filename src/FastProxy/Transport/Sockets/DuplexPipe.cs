using System.IO.Pipelines;

namespace FastProxy.Transport.Sockets;

/// <summary>The application's view of a connection: what it reads and what it writes.</summary>
internal sealed class DuplexPipe : IDuplexPipe
{
    public DuplexPipe(PipeReader input, PipeWriter output)
    {
        Input = input;
        Output = output;
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }
}
