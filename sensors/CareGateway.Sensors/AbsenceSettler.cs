namespace CareGateway.Sensors;

/// <summary>
/// Holds back an inactive state until it has lasted <c>settle</c>: a bed mat that is empty for a moment while the resident
/// turns over is not "out of bed". Active states pass at once. Hardware-free, on <see cref="TimeProvider"/>; the reported
/// time of a settled absence is when the absence began.
/// </summary>
public sealed class AbsenceSettler : IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeSpan _settle;
    private readonly Action<bool, DateTimeOffset> _onState;
    private readonly ITimer _timer;
    private readonly TimeProvider _time;
    private bool _reported;
    private DateTimeOffset? _absentSince;

    /// <param name="settle">How long an absence must hold.</param>
    /// <param name="time">Clock and timers.</param>
    /// <param name="initial">The state already known (not reported again).</param>
    /// <param name="onState">Called with each state to report and when it began.</param>
    public AbsenceSettler(TimeSpan settle, TimeProvider time, bool initial, Action<bool, DateTimeOffset> onState)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settle, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(time);
        _settle = settle;
        _time = time;
        _reported = initial;
        _onState = onState;
        _timer = time.CreateTimer(_ => Elapsed(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The state reported last.</summary>
    public bool Reported
    {
        get
        {
            lock (_gate)
            {
                return _reported;
            }
        }
    }

    /// <summary>Feeds one (debounced) state.</summary>
    public void Input(bool active, DateTimeOffset at)
    {
        bool report;
        lock (_gate)
        {
            if (active)
            {
                _absentSince = null;
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                report = !_reported;
                _reported = true;
            }
            else if (_settle == TimeSpan.Zero)
            {
                report = _reported;
                _reported = false;
            }
            else
            {
                if (!_reported || _absentSince is not null)
                {
                    return;
                }

                // The absence began at 'at' (the first edge, before debounce): it must hold until at + settle.
                var remaining = at + _settle - _time.GetUtcNow();
                if (remaining > TimeSpan.Zero)
                {
                    _absentSince = at;
                    _timer.Change(remaining, Timeout.InfiniteTimeSpan);
                    return;
                }

                report = true;
                _reported = false;
            }
        }

        if (report)
        {
            _onState(active, at);
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Elapsed()
    {
        DateTimeOffset since;
        lock (_gate)
        {
            if (_absentSince is not { } s)
            {
                return;
            }

            since = s;
            _absentSince = null;
            _reported = false;
        }

        _onState(false, since);
    }
}
