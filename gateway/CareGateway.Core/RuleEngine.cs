using System.Globalization;
using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Sensors.Zigbee;

namespace CareGateway.Core;

/// <summary>
/// The safety rules. Deterministic: the engine is fed sensor events (with their own timestamps) and the passing of time
/// (<see cref="OnTime"/>), and answers with the alarms to send. It never reads a clock, a pin or a socket itself;
/// <see cref="NextDue"/> says when it next needs <see cref="OnTime"/>. Everything it remembers is in one
/// <see cref="RuleSnapshot"/> (<see cref="Snapshot"/>, <see cref="Restore"/>), so that timers survive a restart.
/// </summary>
/// <remarks>
/// Alarm types whose profile allows a local pre-alarm are held for the cancel window (<see cref="IPreAlarmSignal"/>
/// sounds the buzzer) and then returned as raised, or as <see cref="AlarmState.Cancelled"/> if the resident pressed the
/// cancel button: every held alarm is returned exactly once either way.
/// </remarks>
public sealed class RuleEngine
{
    private static readonly TimeSpan PassingTolerance = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long offline reports of Zigbee sensors are gathered into one outage: a zigbee2mqtt or broker outage is
    /// reported once this long after it began (nothing when it is over by then: a restart of zigbee2mqtt or a broker
    /// blip), and Zigbee sensors reported unavailable one by one wait this long to see whether the others follow.
    /// </summary>
    public static readonly TimeSpan OutageGatherTime = TimeSpan.FromSeconds(30);

    /// <summary>The most sensors a <c>zigbee-offline</c> alarm names; the rest are counted.</summary>
    public const int MaxListedSensors = 50;

    /// <summary>
    /// A timed rule whose condition ends within this last fraction of its limit (the last 20 %: from 4 min of a 5 min
    /// wandering grace on) is a <see cref="NearMiss"/>.
    /// </summary>
    public const double NearMissFraction = 0.2;

    private readonly HashSet<string> _zigbee;
    private readonly CareProfile _profile;
    private readonly TimeZoneInfo _zone;
    private readonly Dictionary<string, SensorDefinition> _sensors;
    private readonly IPreAlarmSignal? _signal;
    private readonly bool _hasActivitySensors;
    private readonly List<NearMiss> _nearMisses = [];
    private RuleSnapshot _s = new();

    public RuleEngine(CareProfile profile, IEnumerable<SensorDefinition> sensors, IPreAlarmSignal? signal = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(sensors);
        _profile = profile;
        _zone = profile.ResolveTimeZone();
        _sensors = sensors.ToDictionary(s => s.Id, StringComparer.Ordinal);
        _signal = signal;
        _zigbee = _sensors.Values.Where(s => s.Zigbee is not null).Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        _hasActivitySensors = _sensors.Values.Any(s => s.Kind is SensorKind.Motion or SensorKind.Presence or SensorKind.Bed or SensorKind.Door);
    }

    /// <summary>The earliest time at which <see cref="OnTime"/> may raise an alarm; null when nothing is pending.</summary>
    public DateTimeOffset? NextDue => Candidates().Where(t => _s.Now is null || t >= _s.Now).Select(t => (DateTimeOffset?)t).Min();

    /// <summary>Is the resident away (door, bed and inactivity rules paused).</summary>
    public bool IsAway => _s.Away is not null;

    /// <summary>Is home care or a visitor present (inactivity, not-up, bathroom-stay and wandering paused).</summary>
    public bool IsVisitor => _s.Visitor is not null;

    /// <summary>Alarms held for the local pre-alarm, waiting for the cancel window to end.</summary>
    public IReadOnlyList<AlarmRequest> Held => [.. _s.Held.Select(h => h.ToRequest())];

    /// <summary>The zigbee2mqtt outage in progress (since, cause, sensors not heard again, reported); null when there is none.</summary>
    public (DateTimeOffset Since, string Cause, int Offline, bool Reported)? ZigbeeOutage =>
        _s.ZigbeeOutage is { } o ? (o.Since, o.Cause, o.Offline.Count, o.Reported) : null;

    /// <summary>
    /// After a restart of the gateway (not after new rules): Zigbee offline reports still being gathered are forgotten,
    /// because the Zigbee driver starts afresh and reports again, from the broker's retained messages, what is still
    /// down. Otherwise a zigbee2mqtt restart that overlapped the gateway's would be reported as an outage.
    /// </summary>
    public void ForgetUnjudgedOfflineReports()
    {
        if (_s.ZigbeeOutage is { Reported: false } outage)
        {
            _s.Offline.RemoveAll(outage.Offline.Contains);
            _s.ZigbeeOutage = null;
        }

        _s.Offline.RemoveAll(id => _s.PendingOffline.Any(p => p.SensorId == id));
        _s.PendingOffline.Clear();
    }

    /// <summary>
    /// The near misses observed since the last call, in order, and forgets them: timers of wandering, bed-exit,
    /// bathroom-stay and continuous inactivity that were ended within the last <see cref="NearMissFraction"/> of their
    /// limit. Observations only (for <c>replay</c>): they are not part of the saved state and change no decision.
    /// </summary>
    public IReadOnlyList<NearMiss> TakeNearMisses()
    {
        var taken = _nearMisses.ToList();
        _nearMisses.Clear();
        return taken;
    }

    private void NoteNearMiss(string type, string? sensorId, string? room, DateTimeOffset since, DateTimeOffset at, TimeSpan limit, string ended)
    {
        if (NearMiss.IsClose(at - since, limit))
        {
            _nearMisses.Add(new NearMiss(type, sensorId, room, since, at, limit, ended));
        }
    }

    /// <summary>A copy of the engine's whole state, to be saved.</summary>
    public RuleSnapshot Snapshot() => RuleSnapshot.FromJson(_s.ToJson())!;

    /// <summary>Continues from a saved state. Held pre-alarms sound again.</summary>
    public void Restore(RuleSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _s = RuleSnapshot.FromJson(snapshot.ToJson()) ?? new RuleSnapshot();
        foreach (var h in _s.Held)
        {
            _signal?.Started(h.ToRequest(), h.Until);
        }
    }

    public IReadOnlyList<AlarmRequest> OnEvent(SensorEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var alarms = new List<AlarmRequest>();

        // What fell due before this event happened is decided first: a late event cannot undo it.
        alarms.AddRange(OnTime(e.At));

        // A health report (heard, offline, online) is not a change of state: it must not count as activity.
        if (!Health(e, alarms) || e.Type != SensorEventType.State)
        {
            return alarms;
        }

        var wasActive = _s.Active.TryGetValue(e.SensorId, out var previous) && previous;
        _s.Active[e.SensorId] = e.Active;
        var rising = e.Active && !wasActive;
        var changed = e.Active != wasActive;
        _sensors.TryGetValue(e.SensorId, out var sensor);
        var room = sensor?.Room ?? e.Room;

        switch (e.Kind)
        {
            case SensorKind.Panic when rising:
                // A panic press also ends the away state.
                EndAway(e.At);
                Emit(new(AlarmType.Panic, e.SensorId, room, "Panic button pressed", e.At), alarms);
                break;
            case SensorKind.Fall when rising:
                Emit(new(AlarmType.Fall, e.SensorId, room, "Fall detected", e.At), alarms);
                break;
            case SensorKind.Smoke when rising:
                Emit(new(AlarmType.Smoke, e.SensorId, room, "Smoke detected", e.At), alarms);
                break;
            case SensorKind.PullCord when rising:
                // A pull, like a press, is the resident at home calling: it ends the away state.
                EndAway(e.At);
                Emit(new(AlarmType.PullCord, e.SensorId, room, "Pull cord pulled", e.At), alarms);
                break;
            case SensorKind.Epilepsy when rising:
                EndAway(e.At);
                Emit(new(AlarmType.Epilepsy, e.SensorId, room, "Epileptic seizure detected", e.At), alarms);
                break;
            case SensorKind.CarbonMonoxide when rising:
                Emit(new(AlarmType.CarbonMonoxide, e.SensorId, room, "Carbon monoxide detected", e.At), alarms);
                break;
            case SensorKind.Gas when rising:
                Emit(new(AlarmType.Gas, e.SensorId, room, "Gas leak detected", e.At), alarms);
                break;
            case SensorKind.Water when rising:
                Emit(new(AlarmType.Water, e.SensorId, room, "Water leak detected", e.At), alarms);
                break;
            case SensorKind.PowerFail when rising && _profile.Technical.GatewayPower:
                Emit(new(AlarmType.GatewayPower, e.SensorId, room, "Mains power failed: the gateway runs on its backup battery", e.At), alarms);
                break;
            case SensorKind.CancelButton when rising:
                CancelHeld(e.At, alarms);
                break;
            case SensorKind.AwayButton when rising:
                if (_s.Away is null)
                {
                    StartAway(e.At, "away button");
                }
                else
                {
                    EndAway(e.At);
                }

                break;
            case SensorKind.VisitorButton when rising:
                if (_s.Visitor is null)
                {
                    StartVisitor(e.At, "visitor button");
                }
                else
                {
                    EndVisitor(e.At);
                }

                break;
            case SensorKind.Door when changed:
                OnDoor(e, sensor, room);
                break;
            case SensorKind.Bed when changed:
                OnBed(e, room);
                break;
            default:
                break;
        }

        // A sensor that also sees others (a pet, a partner) is no sign of the resident: not their return, not activity.
        if (IsActivity(e.Kind, rising, changed) && sensor?.CountsAsResident != false)
        {
            OnActivity(e, room);
        }

        alarms.AddRange(OnTime(e.At));
        return alarms;
    }

    /// <summary>A command (from the centre or the technician's tool) sets or ends the away state.</summary>
    public IReadOnlyList<AlarmRequest> SetAway(bool away, DateTimeOffset at, string source)
    {
        var alarms = new List<AlarmRequest>(OnTime(at));
        if (away && _s.Away is null)
        {
            StartAway(at, source);
        }
        else if (!away)
        {
            EndAway(at);
        }

        alarms.AddRange(OnTime(at));
        return alarms;
    }

    /// <summary>A command (from the centre or the console) starts or ends the visitor state.</summary>
    public IReadOnlyList<AlarmRequest> SetVisitor(bool visitor, DateTimeOffset at, string source)
    {
        var alarms = new List<AlarmRequest>(OnTime(at));
        if (visitor && _s.Visitor is null)
        {
            StartVisitor(at, source);
        }
        else if (!visitor)
        {
            EndVisitor(at);
        }

        alarms.AddRange(OnTime(at));
        return alarms;
    }

    public IReadOnlyList<AlarmRequest> OnTime(DateTimeOffset now)
    {
        var alarms = new List<AlarmRequest>();
        if (_s.Now is null || now > _s.Now)
        {
            _s.Now = now;
        }

        _s.LastActivityAt ??= now;
        _s.DailyCheckedUntil ??= now;

        ReleaseHeld(now, alarms);
        CheckOffline(now, alarms);
        CheckWandering(now, alarms);
        CheckBeds(now, alarms);
        CheckBathroom(now, alarms);
        CheckAway(now, alarms);
        CheckVisitor(now);
        CheckDaily(now, alarms);
        CheckInactivity(now, alarms);
        return alarms;
    }

    // ---------------------------------------------------------------- alarm lifecycle (pre-alarm hold)

    private void Emit(AlarmRequest alarm, List<AlarmRequest> output)
    {
        var hold = _profile.PreAlarm.HoldFor(alarm.Type);
        if (hold <= TimeSpan.Zero)
        {
            output.Add(alarm);
            return;
        }

        if (_s.Held.FirstOrDefault(h => h.Type == alarm.Type && h.SensorId == alarm.SensorId) is { } held)
        {
            if (AlarmCatalog.Repeats(alarm.Type))
            {
                // The call came again while it was held: it goes now (a second press or fall is no time to wait).
                _s.Held.Remove(held);
                var request = held.ToRequest();
                output.Add(request);
                _signal?.Ended(request, cancelled: false);
            }

            return; // otherwise already held: one open alarm per type and sensor
        }

        var until = (_s.Now is { } now && now > alarm.At ? now : alarm.At) + hold;
        _s.Held.Add(new HeldAlarm { Type = alarm.Type, SensorId = alarm.SensorId, Room = alarm.Room, Reason = alarm.Reason, At = alarm.At, Until = until });
        _signal?.Started(alarm, until);
    }

    private void ReleaseHeld(DateTimeOffset now, List<AlarmRequest> output)
    {
        foreach (var h in _s.Held.Where(h => h.Until <= now).ToList())
        {
            _s.Held.Remove(h);
            var request = h.ToRequest();
            output.Add(request);
            _signal?.Ended(request, cancelled: false);
        }
    }

    private void CancelHeld(DateTimeOffset at, List<AlarmRequest> output)
    {
        foreach (var h in _s.Held.ToList())
        {
            _s.Held.Remove(h);
            var request = h.ToRequest(AlarmState.Cancelled) with
            {
                Reason = string.Create(CultureInfo.InvariantCulture, $"{h.Reason}; cancelled by the resident at {Local(at):HH:mm}"),
            };
            output.Add(request);
            _signal?.Ended(request, cancelled: true);
        }
    }

    // ---------------------------------------------------------------- technical

    /// <summary>Handles the health fields; false when the event carries no state (the sensor is offline).</summary>
    private bool Health(SensorEvent e, List<AlarmRequest> alarms)
    {
        var t = _profile.Technical;
        var room = _sensors.TryGetValue(e.SensorId, out var def) ? def.Room : e.Room;
        if (e.Health?.Offline == true)
        {
            if (!_s.Offline.Contains(e.SensorId))
            {
                _s.Offline.Add(e.SensorId);
                OnOffline(e, room, alarms);
            }

            return false;
        }

        if (_s.Offline.Remove(e.SensorId))
        {
            OnHeardAgain(e);
        }
        if (e.Health is not { } h)
        {
            return true;
        }

        var low = h.BatteryLow == true || h.BatteryPercent <= t.LowBatteryPercent;
        var ok = h.BatteryLow != true && (h.BatteryPercent is null ? h.BatteryLow == false : h.BatteryPercent > t.LowBatteryPercent);
        if (low && !_s.LowBattery.Contains(e.SensorId))
        {
            _s.LowBattery.Add(e.SensorId);
            if (t.LowBattery)
            {
                var pct = h.BatteryPercent is { } p ? string.Create(CultureInfo.InvariantCulture, $" ({p} %)") : string.Empty;
                Emit(new(AlarmType.LowBattery, e.SensorId, room, $"Battery low on sensor {e.SensorId}{pct}", e.At), alarms);
            }
        }
        else if (ok)
        {
            _s.LowBattery.Remove(e.SensorId);
        }

        if (h.Tamper == true && !_s.Tamper.Contains(e.SensorId))
        {
            _s.Tamper.Add(e.SensorId);
            if (t.Tamper)
            {
                Emit(new(AlarmType.Tamper, e.SensorId, room, $"Sensor {e.SensorId} was opened or removed (tamper)", e.At), alarms);
            }
        }
        else if (h.Tamper == false)
        {
            _s.Tamper.Remove(e.SensorId);
        }

        return true;
    }

    /// <summary>
    /// A sensor went offline. A Zigbee sensor taken down by zigbee2mqtt or its broker going away is part of one outage
    /// (one <c>zigbee-offline</c> alarm for the home); one reported unavailable waits <see cref="OutageGatherTime"/> to
    /// see whether most of the others follow (an outage too) or not (its own <c>sensor-offline</c>); any other (a
    /// supervision timeout: the sensor alone went silent; a device that left the Zigbee network) is its own
    /// <c>sensor-offline</c> at once.
    /// </summary>
    private void OnOffline(SensorEvent e, string room, List<AlarmRequest> alarms)
    {
        var zigbee = _zigbee.Contains(e.SensorId);
        var linkDown = e.Detail is Zigbee2MqttMapper.BridgeOffline or Zigbee2MqttMapper.BrokerUnreachable;
        var left = e.Detail == Zigbee2MqttMapper.DeviceLeft;
        if (zigbee && !left && _s.ZigbeeOutage is { } outage && (linkDown || !outage.Reported || outage.ReturnedAt is not null))
        {
            // Covered by the outage in progress (zigbee2mqtt down again while it was coming back, or gathering).
            outage.ReturnedAt = linkDown ? null : outage.ReturnedAt;
            outage.Offline.Add(e.SensorId);
            if (!outage.Affected.Contains(e.SensorId))
            {
                outage.Affected.Add(e.SensorId);
            }

            return;
        }

        if (zigbee && linkDown)
        {
            var started = new ZigbeeOutageState { Since = e.At, Cause = e.Detail!, GatherUntil = e.At + OutageGatherTime };
            foreach (var id in _s.PendingOffline.Select(p => p.SensorId).Append(e.SensorId))
            {
                started.Affected.Add(id);
                started.Offline.Add(id);
            }

            _s.PendingOffline.Clear();
            _s.ZigbeeOutage = started;
            return;
        }

        if (zigbee && e.Detail == Zigbee2MqttMapper.DeviceUnavailable && _zigbee.Count >= 2)
        {
            _s.PendingOffline.Add(new PendingOffline { SensorId = e.SensorId, Kind = KindName(e.Kind), Room = room, At = e.At });
            return;
        }

        RaiseSensorOffline(e.SensorId, KindName(e.Kind), room, left ? "left the Zigbee network (device_leave)" : "stopped reporting", e.At, alarms);
    }

    /// <summary>A sensor that was offline is heard again (an online report, or a message with its state or health).</summary>
    private void OnHeardAgain(SensorEvent e)
    {
        _s.PendingOffline.RemoveAll(p => p.SensorId == e.SensorId);
        if (_s.ZigbeeOutage is not { } outage || !outage.Offline.Remove(e.SensorId))
        {
            return;
        }

        if (outage.Offline.Count == 0)
        {
            _s.ZigbeeOutage = null; // over: its alarm (if it was raised) stays open for the operator to close
        }
        else if (e.Detail is Zigbee2MqttMapper.BridgeBackOnline or Zigbee2MqttMapper.BrokerReachable)
        {
            outage.ReturnedAt ??= e.At;
        }
    }

    private void CheckOffline(DateTimeOffset now, List<AlarmRequest> alarms)
    {
        if (_s.PendingOffline.Count > 0 && now >= _s.PendingOffline[0].At + OutageGatherTime)
        {
            var pending = _s.PendingOffline.ToList();
            _s.PendingOffline.Clear();
            var down = _zigbee.Count(_s.Offline.Contains);
            if (pending.Count >= 2 && down * 5 >= _zigbee.Count * 4 && _s.ZigbeeOutage is null)
            {
                // Most of the Zigbee sensors became unavailable together: zigbee2mqtt (or its radio) is the cause.
                var outage = new ZigbeeOutageState
                {
                    Since = pending[0].At, Cause = Zigbee2MqttMapper.DeviceUnavailable, GatherUntil = pending[0].At + OutageGatherTime,
                    Affected = [.. pending.Select(p => p.SensorId)], Offline = [.. pending.Select(p => p.SensorId)],
                };
                _s.ZigbeeOutage = outage;
            }
            else
            {
                foreach (var p in pending)
                {
                    RaiseSensorOffline(p.SensorId, p.Kind, p.Room, "is unavailable in zigbee2mqtt", p.At, alarms);
                }
            }
        }

        if (_s.ZigbeeOutage is { Reported: false } o && now >= o.GatherUntil)
        {
            o.Reported = true;
            if (_profile.Technical.SensorOffline)
            {
                Emit(new(AlarmType.ZigbeeOffline, null, null, OutageReason(o), o.Since), alarms);
            }
        }

        if (_s.ZigbeeOutage is { ReturnedAt: { } back } r && now >= back + OutageGatherTime)
        {
            // zigbee2mqtt is back, but these were not heard since: each is offline on its own now.
            _s.ZigbeeOutage = null;
            foreach (var id in r.Offline)
            {
                var def = _sensors.GetValueOrDefault(id);
                RaiseSensorOffline(id, def is null ? "sensor" : KindName(def.Kind), def?.Room ?? string.Empty, "is still not heard after zigbee2mqtt came back", back + OutageGatherTime, alarms);
            }
        }
    }

    private void RaiseSensorOffline(string id, string kind, string room, string what, DateTimeOffset at, List<AlarmRequest> alarms)
    {
        if (_profile.Technical.SensorOffline)
        {
            Emit(new(AlarmType.SensorOffline, id, room, $"Sensor {id} ({kind}) {what}", at), alarms);
        }
    }

    private string OutageReason(ZigbeeOutageState o)
    {
        var cause = o.Cause switch
        {
            Zigbee2MqttMapper.BridgeOffline => "zigbee2mqtt reports itself offline",
            Zigbee2MqttMapper.BrokerUnreachable => "The gateway lost the connection to zigbee2mqtt's local MQTT broker",
            _ => string.Create(CultureInfo.InvariantCulture, $"Zigbee sensors became unavailable together within {OutageGatherTime.TotalSeconds:0} s"),
        };
        var listed = o.Affected.Take(MaxListedSensors).Select(id => _sensors.TryGetValue(id, out var d) ? $"{id} ({d.Room})" : id);
        var more = o.Affected.Count > MaxListedSensors ? string.Create(CultureInfo.InvariantCulture, $" and {o.Affected.Count - MaxListedSensors} more") : string.Empty;
        var noun = o.Affected.Count == 1 ? "sensor" : "sensors";
        return string.Create(CultureInfo.InvariantCulture, $"{cause} since {Local(o.Since):yyyy-MM-dd HH:mm:ss}: {o.Affected.Count} Zigbee {noun} cannot be heard: {string.Join(", ", listed)}{more}");
    }

    private static string KindName(SensorKind kind) => kind.ToString().ToLowerInvariant();

    // ---------------------------------------------------------------- activity, away

    private static bool IsActivity(SensorKind kind, bool rising, bool changed) => kind switch
    {
        SensorKind.Motion or SensorKind.Presence => rising,
        SensorKind.Door or SensorKind.Bed => changed,
        SensorKind.Panic or SensorKind.CancelButton or SensorKind.AwayButton or SensorKind.VisitorButton or SensorKind.PullCord => rising,
        _ => false,
    };

    private void OnActivity(SensorEvent e, string room)
    {
        if (InactivityDue() is { } due && _s.LastActivityAt is { } quietSince && e.At < due)
        {
            NoteNearMiss(AlarmType.Inactivity, null, null, quietSince, e.At, due - quietSince, "activity again");
        }

        _s.LastActivityAt = e.At;
        var inside = e.Kind is SensorKind.Motion or SensorKind.Presence || (e.Kind == SensorKind.Bed && e.Active);
        if (inside)
        {
            // Movement inside after the outer door closed: the resident came back (or never left).
            if (_s.Wandering is { ClosedAt: { } closed } w && e.At >= closed)
            {
                _s.Wandering = null;
                NoteNearMiss(AlarmType.Wandering, w.DoorId, w.Room, w.OpenedAt, e.At, w.Deadline - w.OpenedAt, "back");
            }

            if (_s.LeaveCandidateAt is { } candidate && e.At >= candidate)
            {
                _s.LeaveCandidateAt = null;
            }

            if (_s.Away is { DoorClosedAt: { } back } && e.At >= back)
            {
                EndAway(e.At);
            }
        }

        if (_s.Away is not null || _s.Visitor is not null || !_profile.BathroomStay.Enabled)
        {
            return;
        }

        var isBathroom = _profile.BathroomStay.Rooms.Contains(room, StringComparer.OrdinalIgnoreCase);
        if (isBathroom && e.Kind is SensorKind.Motion or SensorKind.Presence or SensorKind.Door)
        {
            if (_s.Bathroom is { } b)
            {
                b.LastSeenAt = e.At;
            }
            else
            {
                _s.Bathroom = new BathroomState { SensorId = e.SensorId, Room = room, Since = e.At, LastSeenAt = e.At };
            }
        }
        else if (!isBathroom && _s.Bathroom is { } b && e.At - b.LastSeenAt > PassingTolerance)
        {
            // Seen elsewhere: out of the bathroom. (Within a few seconds it is the hallway sensor seeing them go in.)
            _s.Bathroom = null;
            if (!b.Raised)
            {
                NoteNearMiss(AlarmType.BathroomStay, b.SensorId, b.Room, b.Since, e.At, TimeSpan.FromMinutes(_profile.BathroomStay.MaxMinutes), "out of the bathroom");
            }
        }
    }

    private void StartAway(DateTimeOffset at, string source)
    {
        _s.Away = new AwayState { Since = at, Source = source };
        _s.Wandering = null;
        _s.Bathroom = null;
        _s.LeaveCandidateAt = null;
        foreach (var bed in _s.Beds.Values)
        {
            bed.OutSince = null;
        }
    }

    private void EndAway(DateTimeOffset at)
    {
        if (_s.Away is null)
        {
            return;
        }

        _s.Away = null;
        _s.LastActivityAt = at;
    }

    // ---------------------------------------------------------------- visitor

    private void StartVisitor(DateTimeOffset at, string source)
    {
        _s.Visitor = new VisitorState { Since = at, Source = source };
        _s.Wandering = null; // staff going in and out is not the resident wandering
        _s.Bathroom = null;
    }

    private void EndVisitor(DateTimeOffset at)
    {
        if (_s.Visitor is null)
        {
            return;
        }

        // The rules take up from here: the quiet period starts when the visit ends, not when the resident last moved.
        _s.Visitor = null;
        _s.LastActivityAt = at;
    }

    private DateTimeOffset? VisitorEnds => _s.Visitor is { } v ? v.Since + TimeSpan.FromMinutes(_profile.Visitor.MaxMinutes) : null;

    private void CheckVisitor(DateTimeOffset now)
    {
        if (VisitorEnds is { } ends && now >= ends)
        {
            EndVisitor(ends);
        }
    }

    private void CheckAway(DateTimeOffset now, List<AlarmRequest> alarms)
    {
        if (_s.Away is { Reported: false } away && now >= away.Since + TimeSpan.FromHours(_profile.Away.MaxHours))
        {
            away.Reported = true;
            var reason = string.Create(
                CultureInfo.InvariantCulture,
                $"Away since {Local(away.Since):yyyy-MM-dd HH:mm} (set by {away.Source}), longer than the profile's maximum of {_profile.Away.MaxHours:0.#} h");
            Emit(new(AlarmType.Wandering, null, null, reason, away.Since + TimeSpan.FromHours(_profile.Away.MaxHours)), alarms);
        }

        if (_s.LeaveCandidateAt is { } left && _profile.Away.AutoAfterMinutes is { } minutes && now >= left + TimeSpan.FromMinutes(minutes))
        {
            _s.LeaveCandidateAt = null;
            if (_s.Away is null)
            {
                StartAway(left + TimeSpan.FromMinutes(minutes), "door sequence");
                _s.Away!.DoorClosedAt = left;
            }
        }
    }

    // ---------------------------------------------------------------- wandering

    private void OnDoor(SensorEvent e, SensorDefinition? door, string room)
    {
        if (door is not { OuterDoor: true })
        {
            return;
        }

        if (_s.Away is { } away)
        {
            if (!e.Active)
            {
                away.DoorClosedAt = e.At;
            }

            return;
        }

        var night = IsNight(e.At);
        if (e.Active && _s.Wandering is null && night && _profile.Wandering.Enabled && _s.Visitor is null)
        {
            _s.Wandering = new WanderingState
            {
                DoorId = e.SensorId, Room = room, OpenedAt = e.At, Deadline = e.At + TimeSpan.FromMinutes(_profile.Wandering.GraceMinutes),
            };
        }
        else if (!e.Active && _s.Wandering is { } w && w.DoorId == e.SensorId)
        {
            // A closing door is not proof of return: wait for movement inside.
            w.ClosedAt = e.At;
        }

        if (!e.Active && !night && _profile.Away.AutoAfterMinutes is not null && _s.Visitor is null)
        {
            _s.LeaveCandidateAt = e.At;
        }
    }

    private void CheckWandering(DateTimeOffset now, List<AlarmRequest> alarms)
    {
        if (_s.Wandering is { } w && now >= w.Deadline)
        {
            _s.Wandering = null;
            var reason = string.Create(
                CultureInfo.InvariantCulture,
                $"Outer door opened at {Local(w.OpenedAt):HH:mm} in the night window {_profile.NightWindow}; nobody seen back inside within {_profile.Wandering.GraceMinutes:0.#} min");
            Emit(new AlarmRequest(AlarmType.Wandering, w.DoorId, w.Room, reason, w.Deadline), alarms);
        }
    }

    // ---------------------------------------------------------------- bed-exit

    private void OnBed(SensorEvent e, string room)
    {
        if (!_s.Beds.TryGetValue(e.SensorId, out var bed))
        {
            bed = new BedState { Room = room };
            _s.Beds[e.SensorId] = bed;
        }

        if (e.Active)
        {
            bed.InBedSince ??= e.At;
            if (bed.OutSince is { } outSince)
            {
                NoteNearMiss(AlarmType.BedExit, e.SensorId, bed.Room, outSince, e.At, TimeSpan.FromMinutes(_profile.BedExit.MaxAbsentMinutes), "back in bed");
            }

            bed.OutSince = null;
            return;
        }

        var rule = _profile.BedExit;
        if (bed.InBedSince is { } since && rule.Enabled && _s.Away is null && IsNight(e.At)
            && e.At - since >= TimeSpan.FromMinutes(rule.MinInBedMinutes))
        {
            bed.OutSince = e.At;
            bed.InBedMinutes = (e.At - since).TotalMinutes;
        }

        bed.InBedSince = null;
    }

    private void CheckBeds(DateTimeOffset now, List<AlarmRequest> alarms)
    {
        var allowed = TimeSpan.FromMinutes(_profile.BedExit.MaxAbsentMinutes);
        foreach (var (id, bed) in _s.Beds.OrderBy(b => b.Key, StringComparer.Ordinal))
        {
            if (bed.OutSince is { } outSince && now >= outSince + allowed)
            {
                bed.OutSince = null;
                var reason = string.Create(
                    CultureInfo.InvariantCulture,
                    $"Out of bed since {Local(outSince):HH:mm} after {bed.InBedMinutes:0} min in bed, not back within {_profile.BedExit.MaxAbsentMinutes:0.#} min (night window {_profile.NightWindow})");
                Emit(new(AlarmType.BedExit, id, bed.Room, reason, outSince + allowed), alarms);
            }
        }
    }

    // ---------------------------------------------------------------- bathroom-stay

    private void CheckBathroom(DateTimeOffset now, List<AlarmRequest> alarms)
    {
        var max = TimeSpan.FromMinutes(_profile.BathroomStay.MaxMinutes);
        if (_s.Bathroom is { Raised: false } b && now >= b.Since + max)
        {
            b.Raised = true;
            var reason = string.Create(
                CultureInfo.InvariantCulture,
                $"In the bathroom since {Local(b.Since):HH:mm} with no activity elsewhere for more than {_profile.BathroomStay.MaxMinutes:0.#} min");
            Emit(new(AlarmType.BathroomStay, b.SensorId, b.Room, reason, b.Since + max), alarms);
        }
    }

    // ---------------------------------------------------------------- not-up and inactivity windows (daily checks)

    private void CheckDaily(DateTimeOffset now, List<AlarmRequest> alarms)
    {
        var from = _s.DailyCheckedUntil!.Value;
        if (now <= from)
        {
            return;
        }

        var checks = new List<(DateTimeOffset At, Action Check)>();
        if (_profile.NotUp.Enabled && _hasActivitySensors)
        {
            foreach (var deadline in Occurrences(_profile.NotUp.Deadline, from, now))
            {
                checks.Add((deadline, () => CheckNotUp(deadline, alarms)));
            }
        }

        if (_profile.Inactivity is { Enabled: true, Mode: InactivityMode.Windows } rule)
        {
            foreach (var window in rule.Windows)
            {
                foreach (var end in Occurrences(window.End, from, now))
                {
                    checks.Add((end, () => CheckWindow(window, end, alarms)));
                }
            }
        }

        foreach (var (_, check) in checks.OrderBy(c => c.At))
        {
            check();
        }

        _s.DailyCheckedUntil = now;
    }

    private void CheckNotUp(DateTimeOffset deadline, List<AlarmRequest> alarms)
    {
        if (_s.Away is not null || _s.Visitor is not null)
        {
            return;
        }

        var inBed = _s.Beds.FirstOrDefault(b => b.Value.InBedSince is not null);
        var since = Previous(_profile.NotUp.From ?? _profile.NightWindow.End, deadline);
        string reason;
        if (inBed.Key is not null)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"Still in bed at the morning deadline {_profile.NotUp.Deadline:HH\\:mm}");
        }
        else if (_s.LastActivityAt is { } last && last < since)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"No activity between {Local(since):HH:mm} and the morning deadline {_profile.NotUp.Deadline:HH\\:mm}");
        }
        else
        {
            return;
        }

        Emit(new(AlarmType.NotUp, inBed.Key, inBed.Value?.Room, reason, deadline), alarms);
    }

    private void CheckWindow(TimeWindow window, DateTimeOffset end, List<AlarmRequest> alarms)
    {
        var start = Previous(window.Start, end);
        if (_s.Away is not null || _s.Visitor is not null || (_s.LastActivityAt is { } last && last >= start))
        {
            return;
        }

        var reason = string.Create(CultureInfo.InvariantCulture, $"No activity from any sensor in the daily window {window}");
        Emit(new(AlarmType.Inactivity, null, null, reason, end), alarms);
    }

    // ---------------------------------------------------------------- inactivity (continuous)

    private void CheckInactivity(DateTimeOffset now, List<AlarmRequest> alarms)
    {
        if (InactivityDue() is not { } due || now < due)
        {
            return;
        }

        var last = _s.LastActivityAt!.Value;
        _s.InactivityRaisedFor = last;
        var reason = string.Create(
            CultureInfo.InvariantCulture,
            $"No activity from any sensor since {Local(last):yyyy-MM-dd HH:mm} ({(due - last).TotalHours:0.#} h; threshold {_profile.Inactivity.DayHours:0.#} h by day, {_profile.Inactivity.NightHours:0.#} h for a quiet period that reaches into the night window)");
        Emit(new(AlarmType.Inactivity, null, null, reason, due), alarms);
    }

    /// <summary>
    /// When the current quiet period becomes an inactivity alarm (continuous mode). A quiet period that began by day
    /// uses the day threshold until it reaches the night window; from then on (and for one that began at night) the
    /// night threshold applies, so that a night's sleep is not an alarm at the first minute of the day.
    /// </summary>
    private DateTimeOffset? InactivityDue()
    {
        if (_profile.Inactivity is not { Enabled: true, Mode: InactivityMode.Continuous } rule || _s.Away is not null || _s.Visitor is not null
            || _s.LastActivityAt is not { } last || _s.InactivityRaisedFor == last)
        {
            return null;
        }

        var byNight = last + TimeSpan.FromHours(rule.NightHours);
        if (IsNight(last))
        {
            return byNight;
        }

        var nightStarts = Next(_profile.NightWindow.Start, last);
        var byDay = last + TimeSpan.FromHours(rule.DayHours);
        return byDay <= nightStarts ? byDay : (byNight > nightStarts ? byNight : nightStarts);
    }

    // ---------------------------------------------------------------- time

    private IEnumerable<DateTimeOffset> Candidates()
    {
        if (_s.PendingOffline.Count > 0)
        {
            yield return _s.PendingOffline[0].At + OutageGatherTime;
        }

        if (_s.ZigbeeOutage is { } outage)
        {
            if (!outage.Reported)
            {
                yield return outage.GatherUntil;
            }

            if (outage.ReturnedAt is { } back)
            {
                yield return back + OutageGatherTime;
            }
        }

        foreach (var h in _s.Held)
        {
            yield return h.Until;
        }

        if (_s.Wandering is { } w)
        {
            yield return w.Deadline;
        }

        foreach (var bed in _s.Beds.Values)
        {
            if (bed.OutSince is { } o)
            {
                yield return o + TimeSpan.FromMinutes(_profile.BedExit.MaxAbsentMinutes);
            }
        }

        if (_s.Bathroom is { Raised: false } b)
        {
            yield return b.Since + TimeSpan.FromMinutes(_profile.BathroomStay.MaxMinutes);
        }

        if (_s.Away is { Reported: false } away)
        {
            yield return away.Since + TimeSpan.FromHours(_profile.Away.MaxHours);
        }

        if (_s.LeaveCandidateAt is { } left && _profile.Away.AutoAfterMinutes is { } minutes)
        {
            yield return left + TimeSpan.FromMinutes(minutes);
        }

        if (VisitorEnds is { } visitEnds)
        {
            yield return visitEnds;
        }

        if (_s.DailyCheckedUntil is { } checkedUntil)
        {
            if (_profile.NotUp.Enabled && _hasActivitySensors)
            {
                yield return Next(_profile.NotUp.Deadline, checkedUntil);
            }

            if (_profile.Inactivity is { Enabled: true, Mode: InactivityMode.Windows } rule)
            {
                foreach (var window in rule.Windows)
                {
                    yield return Next(window.End, checkedUntil);
                }
            }
        }

        if (InactivityDue() is { } inactivity)
        {
            yield return inactivity;
        }
    }

    private DateTime Local(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, _zone).DateTime;

    private bool IsNight(DateTimeOffset at) => _profile.NightWindow.Contains(TimeOnly.FromDateTime(Local(at)));

    /// <summary>The instant of a local wall-clock time; a time in the spring gap counts as the moment the clocks jump.</summary>
    private DateTimeOffset ToInstant(DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (_zone.IsInvalidTime(local))
        {
            var before = _zone.GetUtcOffset(local.AddHours(-3));
            return new DateTimeOffset(local, before);
        }

        if (_zone.IsAmbiguousTime(local))
        {
            return new DateTimeOffset(local, _zone.GetAmbiguousTimeOffsets(local).Max());
        }

        return new DateTimeOffset(local, _zone.GetUtcOffset(local));
    }

    /// <summary>The first instant strictly after <paramref name="after"/> at which local time is <paramref name="time"/>.</summary>
    private DateTimeOffset Next(TimeOnly time, DateTimeOffset after)
    {
        var day = Local(after).Date.AddDays(-1);
        for (var i = 0; i < 4; i++, day = day.AddDays(1))
        {
            var at = ToInstant(day + time.ToTimeSpan());
            if (at > after)
            {
                return at;
            }
        }

        throw new InvalidOperationException("unreachable: a local time occurs every day");
    }

    /// <summary>The last instant at or before <paramref name="at"/> at which local time is <paramref name="time"/>.</summary>
    private DateTimeOffset Previous(TimeOnly time, DateTimeOffset at)
    {
        var day = Local(at).Date.AddDays(1);
        for (var i = 0; i < 4; i++, day = day.AddDays(-1))
        {
            var t = ToInstant(day + time.ToTimeSpan());
            if (t <= at)
            {
                return t;
            }
        }

        throw new InvalidOperationException("unreachable: a local time occurs every day");
    }

    /// <summary>Occurrences of a local time in (from, to].</summary>
    private IEnumerable<DateTimeOffset> Occurrences(TimeOnly time, DateTimeOffset from, DateTimeOffset to)
    {
        for (var t = Next(time, from); t <= to; t = Next(time, t))
        {
            yield return t;
        }
    }
}
