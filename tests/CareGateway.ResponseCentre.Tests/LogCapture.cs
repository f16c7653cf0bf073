using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// Every log line of a service, as the console would write its message, for tests that check what is (or is not)
/// logged. <see cref="WaitForAsync"/> waits on a signal: the line arriving.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Completes with the first line (logged before or after) whose message matches.</summary>
    public Task<string> WaitForAsync(Func<string, bool> match, TimeSpan within)
    {
        lock (_waiters)
        {
            if (Lines.FirstOrDefault(l => match(l.Message)) is { Message: { } found })
            {
                return Task.FromResult(found);
            }

            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            return done.Task.WaitAsync(within);
        }
    }

    public void Dispose()
    {
    }

    private void Add(LogLevel level, string category, string message)
    {
        lock (_waiters)
        {
            Lines.Enqueue((level, category, message));
            foreach (var w in _waiters.Where(w => w.Match(message)).ToList())
            {
                w.Found.TrySetResult(message);
                _waiters.Remove(w);
            }
        }
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(logLevel, category, formatter(state, exception));
    }
}
