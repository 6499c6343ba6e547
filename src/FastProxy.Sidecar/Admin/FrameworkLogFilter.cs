using Microsoft.Extensions.Logging;

namespace FastProxy.Sidecar.Admin;

/// <summary>
/// The sidecar's logger factory as the admin server's ASP.NET Core sees it: the same output, with the
/// framework's own categories (<c>Microsoft.*</c>) held to warnings and above. At information level
/// Kestrel and routing write five lines per request, and the dashboard makes two requests a second.
/// </summary>
internal sealed class FrameworkLogFilter(ILoggerFactory inner) : ILoggerFactory
{
    private const string FrameworkPrefix = "Microsoft.";

    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return categoryName.StartsWith(FrameworkPrefix, StringComparison.Ordinal) ? new WarningsAndAbove(logger) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    // The sidecar owns the inner factory and disposes it.
    public void Dispose()
    {
    }

    private sealed class WarningsAndAbove(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
