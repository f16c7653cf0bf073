using System.Globalization;
using Microsoft.Extensions.Logging;

namespace CareGateway.Resilience;

/// <summary>
/// Logs a repeated error once per cause per interval (one minute by default), with the count of repeats since the last
/// line, so a failing disk or an unreachable broker cannot turn the log into a storm that fills the disk by itself.
/// The first occurrence of a cause is logged at once (with its exception, if any); repeats within the interval are
/// counted; the next occurrence after the interval is logged with the count. <see cref="Recovered"/> says when a cause
/// ended and how often it happened. Thread-safe; time is the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class RepeatedErrorLog(ILogger log, TimeProvider time, TimeSpan? interval = null)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _causes = new(StringComparer.Ordinal);

    /// <summary>The default interval between two lines about one cause.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(1);

    public TimeSpan Interval { get; } = interval ?? DefaultInterval;

    /// <summary>How many lines this log has written (for tests that bound the log).</summary>
    public int LinesWritten { get; private set; }

    /// <summary>
    /// Reports one occurrence of <paramref name="cause"/>; logs <paramref name="message"/> (plain words, no secrets) when
    /// it is the first one or the interval has passed since the last line about it. Returns whether a line was written.
    /// </summary>
    public bool Report(string cause, LogLevel level, string message, Exception? exception = null)
    {
        ArgumentNullException.ThrowIfNull(cause);
        var now = time.GetUtcNow();
        int repeats;
        lock (_gate)
        {
            if (_causes.TryGetValue(cause, out var entry) && now - entry.LastLine < Interval)
            {
                entry.Repeats++;
                entry.Total++;
                return false;
            }

            repeats = entry?.Repeats ?? 0;
            _causes[cause] = new Entry { LastLine = now, FirstSeen = entry?.FirstSeen ?? now, Total = (entry?.Total ?? 0) + 1 };
            LinesWritten++;
        }

        if (repeats > 0)
        {
#pragma warning disable CA2254 // the message is plain text composed by the caller; its structure is the cause
            log.Log(level, exception, "{Message} (and {Repeats} more times in the last {Interval})", message, repeats, Describe(Interval));
        }
        else
        {
            log.Log(level, exception, "{Message}", message);
#pragma warning restore CA2254
        }

        return true;
    }

    /// <summary>The cause is over: logs one line with how often it happened (only if it was reported), and forgets it.</summary>
    public void Recovered(string cause, string message)
    {
        Entry? entry;
        lock (_gate)
        {
            if (!_causes.Remove(cause, out entry))
            {
                return;
            }

            LinesWritten++;
        }

        log.LogInformation("{Message} (after {Count} failures since {Since:O})", message, entry.Total, entry.FirstSeen);
    }

    /// <summary>Forgets every cause whose name starts with <paramref name="prefix"/> without logging (a new connection, say).</summary>
    public void Forget(string prefix)
    {
        lock (_gate)
        {
            foreach (var key in _causes.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
            {
                _causes.Remove(key);
            }
        }
    }

    private static string Describe(TimeSpan span) =>
        span.TotalSeconds < 120 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0} s") : string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0} min");

    private sealed class Entry
    {
        public DateTimeOffset LastLine { get; init; }

        public DateTimeOffset FirstSeen { get; init; }

        public int Repeats { get; set; }

        public int Total { get; set; }
    }
}
