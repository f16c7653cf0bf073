namespace CareGateway.Sensors;

/// <summary>One sensor's current state and health, as the gateway knows it.</summary>
public sealed record SensorStatus
{
    public required string SensorId { get; init; }
    public required SensorKind Kind { get; init; }
    public required string Room { get; init; }

    /// <summary><c>gpio</c> or <c>zigbee</c>.</summary>
    public required string Source { get; init; }

    /// <summary>The last known state; null before the sensor reported one.</summary>
    public bool? Active { get; init; }
    public DateTimeOffset? StateSince { get; init; }
    public bool Online { get; init; } = true;

    /// <summary>Why the sensor is offline (<c>supervision-timeout</c>, <c>zigbee2mqtt-offline</c>, <c>device-unavailable</c>...).</summary>
    public string? OfflineReason { get; init; }
    public DateTimeOffset? LastSeen { get; init; }
    public int? BatteryPercent { get; init; }
    public bool? BatteryLow { get; init; }
    public bool? Tamper { get; init; }
    public int? LinkQuality { get; init; }

    /// <summary>Silence longer than this makes the sensor offline; null when it is not supervised (wired inputs).</summary>
    public TimeSpan? Supervision { get; init; }
}

/// <summary>
/// Keeps per sensor: last seen, battery, link quality, tamper, state, online. A supervised sensor silent for longer than its
/// timeout goes offline: a <see cref="SensorEventType.Offline"/> event (detail <c>supervision-timeout</c>) for the rules,
/// and <see cref="SensorEventType.Online"/> when it is heard again. Hardware-free, on <see cref="TimeProvider"/>.
/// </summary>
public sealed class SensorHealthMonitor : IDisposable
{
    /// <summary>A status whose only change is its last-seen time is republished at most this often.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(15);

    /// <summary>
    /// A motion or presence sensor's state, which changes with every movement of the resident, is republished at most
    /// this often (the latest state, by the next silence check): the centre needs the sensor's health, not a live feed
    /// of where the resident walks, and a busy sensor must not cost a message to the centre per report.
    /// </summary>
    public static readonly TimeSpan ActivityInterval = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Action<SensorEvent> _emit;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _startedAt;
    private readonly ITimer _timer;

    /// <param name="sensors">The declared sensors.</param>
    /// <param name="time">Clock and timers.</param>
    /// <param name="emit">Receives the offline/online events the supervision produces (for the rules).</param>
    /// <param name="checkInterval">How often silence is checked; default one minute.</param>
    public SensorHealthMonitor(IEnumerable<SensorDefinition> sensors, TimeProvider time, Action<SensorEvent> emit, TimeSpan? checkInterval = null)
    {
        ArgumentNullException.ThrowIfNull(sensors);
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _emit = emit;
        _startedAt = time.GetUtcNow();
        foreach (var s in sensors)
        {
            _entries[s.Id] = new Entry(s, new SensorStatus
            {
                SensorId = s.Id,
                Kind = s.Kind,
                Room = s.Room,
                Source = s.Zigbee is not null ? "zigbee" : "gpio",
                Supervision = SupervisionOf(s),
            });
        }

        var every = checkInterval ?? TimeSpan.FromMinutes(1);
        _timer = time.CreateTimer(_ => CheckNow(), null, every, every);
    }

    /// <summary>Raised (outside the lock) with a sensor's new status when it changed materially, or its last-seen refresh is due.</summary>
    public event Action<SensorStatus>? Changed;

    /// <summary>The supervision timeout of a sensor: its configured minutes, else the default of its kind for Zigbee, none for wired inputs.</summary>
    public static TimeSpan? SupervisionOf(SensorDefinition sensor)
    {
        ArgumentNullException.ThrowIfNull(sensor);
        if (sensor.SupervisionMinutes is { } minutes)
        {
            return TimeSpan.FromMinutes(minutes);
        }

        if (sensor.Zigbee is null)
        {
            return null; // a wired input is read by its level; a cut normally-closed loop reads as active
        }

        return sensor.Kind switch
        {
            // Mains-powered radars report every few minutes.
            SensorKind.Presence or SensorKind.Fall => TimeSpan.FromHours(1),

            // Battery end devices check in at least hourly (Aqara) to a few hours; zigbee2mqtt's own passive timeout is 25 h.
            _ => TimeSpan.FromHours(25),
        };
    }

    public IReadOnlyList<SensorStatus> Snapshot()
    {
        lock (_gate)
        {
            return [.. _entries.Values.Select(e => e.Status)];
        }
    }

    public SensorStatus? Get(string sensorId)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(sensorId, out var e) ? e.Status : null;
        }
    }

    /// <summary>Takes in any event about a sensor (state, heard, offline, online).</summary>
    public void Observe(SensorEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        SensorStatus? changed = null;
        SensorEvent? back = null;
        lock (_gate)
        {
            if (!_entries.TryGetValue(e.SensorId, out var entry))
            {
                return;
            }

            var old = entry.Status;
            var s = old;
            if (e.Type is SensorEventType.State or SensorEventType.Heard)
            {
                var seen = s.LastSeen is { } last && last > e.At ? last : e.At;
                s = s with
                {
                    LastSeen = seen,
                    BatteryPercent = e.Health?.BatteryPercent ?? s.BatteryPercent,
                    BatteryLow = e.Health?.BatteryLow ?? s.BatteryLow,
                    Tamper = e.Health?.Tamper ?? s.Tamper,
                    LinkQuality = e.Health?.LinkQuality ?? s.LinkQuality,
                };
                // A "heard" Zigbee message carries no trusted state; a wired input's first read does.
                if (e.Type == SensorEventType.State || (s.Active is null && s.Source == "gpio"))
                {
                    s = s with { Active = e.Active, StateSince = s.Active == e.Active ? s.StateSince : e.At };
                }

                if (!s.Online && s.OfflineReason == SupervisionTimeout)
                {
                    // Heard again after a supervision timeout: back online.
                    s = s with { Online = true, OfflineReason = null };
                    back = new SensorEvent(s.SensorId, s.Kind, s.Room, s.Active ?? false, _time.GetUtcNow(), null, SensorEventType.Online, "heard-again");
                }
            }
            else if (e.Type == SensorEventType.Offline)
            {
                s = s with { Online = false, OfflineReason = e.Detail ?? "offline" };
            }
            else if (e.Type == SensorEventType.Online)
            {
                // Back after an outage of zigbee2mqtt or its broker: its silence is counted from now, so that the
                // outage (one alarm for the home) does not turn into a supervision timeout of every sensor after it.
                if (!s.Online)
                {
                    entry.SupervisedFrom = e.At;
                }

                s = s with { Online = true, OfflineReason = null };
            }

            entry.Status = s;
            changed = Publishable(entry, old, s);
        }

        if (back is not null)
        {
            _emit(back);
        }

        if (changed is not null)
        {
            Changed?.Invoke(changed);
        }
    }

    /// <summary>Checks every supervised sensor's silence now (the timer calls this every minute).</summary>
    public void CheckNow()
    {
        var now = _time.GetUtcNow();
        var events = new List<SensorEvent>();
        var changes = new List<SensorStatus>();
        lock (_gate)
        {
            foreach (var entry in _entries.Values)
            {
                var s = entry.Status;
                if (entry.StatePending && (entry.PublishedAt is not { } at || now - at >= ActivityInterval))
                {
                    entry.PublishedAt = now;
                    entry.StatePending = false;
                    changes.Add(s);
                }

                if (s.Supervision is not { } limit || !s.Online)
                {
                    continue;
                }

                var since = s.LastSeen ?? _startedAt;
                if (entry.SupervisedFrom is { } from && from > since)
                {
                    since = from;
                }
                if (now - since > limit)
                {
                    entry.Status = s with { Online = false, OfflineReason = SupervisionTimeout };
                    entry.PublishedAt = now;
                    entry.StatePending = false;
                    events.Add(new SensorEvent(s.SensorId, s.Kind, s.Room, s.Active ?? false, now, null, SensorEventType.Offline, SupervisionTimeout));
                    changes.Add(entry.Status);
                }
            }
        }

        foreach (var e in events)
        {
            _emit(e);
        }

        foreach (var c in changes)
        {
            Changed?.Invoke(c);
        }
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>The reason given when a sensor was silent for longer than its supervision timeout.</summary>
    public const string SupervisionTimeout = "supervision-timeout";

    private SensorStatus? Publishable(Entry entry, SensorStatus old, SensorStatus now)
    {
        // Link quality moves with every message and last seen with every report: they ride along with the periodic refresh.
        static SensorStatus Health(SensorStatus s) => s with { LastSeen = null, LinkQuality = null, Active = null, StateSince = null };
        var healthChanged = Health(old) != Health(now);
        var stateChanged = old.Active != now.Active || old.StateSince != now.StateSince;
        var clock = _time.GetUtcNow();
        var activity = now.Kind is SensorKind.Motion or SensorKind.Presence;
        if (stateChanged && !healthChanged && activity && entry.PublishedAt is { } at && clock - at < ActivityInterval)
        {
            entry.StatePending = true; // published by the silence check once ActivityInterval has passed
            return null;
        }

        if (healthChanged || stateChanged || entry.PublishedAt is null || clock - entry.PublishedAt >= RefreshInterval)
        {
            entry.PublishedAt = clock;
            entry.StatePending = false;
            return now;
        }

        return null;
    }

    private sealed class Entry(SensorDefinition definition, SensorStatus status)
    {
        public SensorDefinition Definition { get; } = definition;

        public SensorStatus Status { get; set; } = status;

        public DateTimeOffset? PublishedAt { get; set; }

        /// <summary>Silence is counted from here when it is later than the last report (the sensor came back online then).</summary>
        public DateTimeOffset? SupervisedFrom { get; set; }

        /// <summary>A state change of an activity sensor waits to be published (see <see cref="ActivityInterval"/>).</summary>
        public bool StatePending { get; set; }
    }
}
