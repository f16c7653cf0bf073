using CareGateway.Sensors;

namespace CareGateway;

/// <summary>
/// The sensor events of the last days, in memory only, for <c>preview-care-profile</c>: what a new care profile would
/// have raised here. Nothing is written to disk (an SD card's writes are for alarms), so a restart starts the
/// recording again; at most <see cref="Capacity"/> events are kept, the oldest dropped first.
/// </summary>
public sealed class RecentSensorEvents(TimeProvider time)
{
    /// <summary>How far back the recording goes.</summary>
    public static readonly TimeSpan Keep = TimeSpan.FromDays(7);

    /// <summary>A busy home sends a few thousand events a day; this holds a week of about seven thousand a day (a few MB).</summary>
    public const int Capacity = 50_000;

    private readonly Lock _gate = new();
    private readonly Queue<SensorEvent> _events = new();
    /// <summary>Since when the recording is whole: the start, or the newest event dropped to stay within <see cref="Capacity"/>.</summary>
    private DateTimeOffset _wholeSince = time.GetUtcNow();

    public void Add(SensorEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        lock (_gate)
        {
            _events.Enqueue(e);
            var cutoff = e.At - Keep;
            while (_events.Count > Capacity || (_events.Count > 0 && _events.Peek().At < cutoff))
            {
                var dropped = _events.Dequeue();
                if (dropped.At >= cutoff && dropped.At > _wholeSince)
                {
                    _wholeSince = dropped.At; // dropped for room, not for age: the recording is whole only after it
                }
            }
        }
    }

    /// <summary>The events of the last <see cref="Keep"/> in arrival order, and the span they cover: [from, now).</summary>
    public (IReadOnlyList<SensorEvent> Events, DateTimeOffset From, DateTimeOffset Until) Snapshot()
    {
        var now = time.GetUtcNow();
        var cutoff = now - Keep;
        lock (_gate)
        {
            var events = _events.Where(e => e.At >= cutoff).ToList();
            return (events, _wholeSince > cutoff ? _wholeSince : cutoff, now);
        }
    }
}
