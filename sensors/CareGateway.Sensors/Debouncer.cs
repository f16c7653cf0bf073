namespace CareGateway.Sensors;

/// <summary>
/// Software debounce on <see cref="TimeProvider"/>: a level counts once it has held for the debounce period. Hardware-free,
/// so that tests drive it with fake time. The reported time is that of the first edge of the burst that led to the new level.
/// </summary>
public sealed class Debouncer : IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeSpan _period;
    private readonly TimeProvider _time;
    private readonly Action<bool, DateTimeOffset> _onStable;
    private readonly ITimer _timer;
    private bool _stable;
    private bool _latest;
    private DateTimeOffset? _firstEdgeAt;

    /// <param name="period">How long a level must hold.</param>
    /// <param name="time">Clock and timers.</param>
    /// <param name="initial">The stable level at start (read from the line).</param>
    /// <param name="onStable">Called with each new stable level and when it began.</param>
    public Debouncer(TimeSpan period, TimeProvider time, bool initial, Action<bool, DateTimeOffset> onStable)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.Zero);
        _period = period;
        _time = time;
        _stable = _latest = initial;
        _onStable = onStable;
        _timer = time.CreateTimer(_ => Settle(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public bool Stable
    {
        get
        {
            lock (_gate)
            {
                return _stable;
            }
        }
    }

    /// <summary>Feeds one raw level as read from the line.</summary>
    public void Input(bool level)
    {
        lock (_gate)
        {
            _latest = level;
            _firstEdgeAt ??= _time.GetUtcNow();
            if (_period == TimeSpan.Zero)
            {
                SettleLocked(out var changed, out var at);
                if (changed)
                {
                    _onStable(level, at);
                }

                return;
            }

            _timer.Change(_period, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Settle()
    {
        bool changed;
        bool level;
        DateTimeOffset at;
        lock (_gate)
        {
            level = _latest;
            SettleLocked(out changed, out at);
        }

        if (changed)
        {
            _onStable(level, at);
        }
    }

    private void SettleLocked(out bool changed, out DateTimeOffset at)
    {
        at = _firstEdgeAt ?? _time.GetUtcNow();
        _firstEdgeAt = null;
        changed = _latest != _stable;
        _stable = _latest;
    }
}
