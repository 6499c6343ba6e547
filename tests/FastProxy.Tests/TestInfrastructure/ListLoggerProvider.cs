using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace FastProxy.Tests;

/// <summary>Keeps every formatted log message, so tests can check what was reported.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Messages { get; } = new();

    /// <summary>The full text of every exception logged with a message (inner exceptions included): what a log sink would print beside it.</summary>
    public ConcurrentQueue<string> Exceptions { get; } = new();

    public ILogger CreateLogger(string categoryName) => new ListLogger(Messages, Exceptions);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ConcurrentQueue<string> messages, ConcurrentQueue<string> exceptions) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            messages.Enqueue(formatter(state, exception));
            if (exception is not null)
            {
                exceptions.Enqueue(exception.ToString());
            }
        }
    }
}
