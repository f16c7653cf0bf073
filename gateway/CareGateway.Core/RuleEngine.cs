using System.Globalization;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway.Core;

/// <summary>
/// The safety rules. Deterministic: the engine is fed sensor events (with their own timestamps) and the passing of time
/// (<see cref="OnTime"/>), and answers with the alarms to raise. It never reads a clock, a pin or a socket itself;
/// <see cref="NextDue"/> says when it next needs <see cref="OnTime"/>.
/// </summary>
public sealed class RuleEngine
{
    private readonly CareProfile _profile;
    private readonly TimeZoneInfo _zone;
    private readonly Dictionary<string, SensorDefinition> _sensors;
    private readonly Dictionary<string, bool> _state = new(StringComparer.Ordinal);
    private PendingWandering? _wandering;

    public RuleEngine(CareProfile profile, IEnumerable<SensorDefinition> sensors)
    {
        ArgumentNullException.ThrowIfNull(profile);
        _profile = profile;
        _zone = profile.ResolveTimeZone();
        _sensors = sensors.ToDictionary(s => s.Id, StringComparer.Ordinal);
    }

    /// <summary>The earliest time at which <see cref="OnTime"/> may raise an alarm; null when nothing is pending.</summary>
    public DateTimeOffset? NextDue => _wandering?.Deadline;

    public IReadOnlyList<AlarmRequest> OnEvent(SensorEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var alarms = new List<AlarmRequest>();
        var wasActive = _state.TryGetValue(e.SensorId, out var previous) && previous;
        _state[e.SensorId] = e.Active;
        var rising = e.Active && !wasActive;

        switch (e.Kind)
        {
            case SensorKind.Panic when rising:
                alarms.Add(new(AlarmType.Panic, e.SensorId, e.Room, "Panic button pressed", e.At));
                break;
            case SensorKind.Fall when rising:
                alarms.Add(new(AlarmType.Fall, e.SensorId, e.Room, "Fall detected", e.At));
                break;
            case SensorKind.Smoke when rising:
                alarms.Add(new(AlarmType.Smoke, e.SensorId, e.Room, "Smoke detected", e.At));
                break;
            case SensorKind.Water when rising:
                alarms.Add(new(AlarmType.Water, e.SensorId, e.Room, "Water leak detected", e.At));
                break;
            case SensorKind.Door:
                OnDoor(e, rising);
                break;
            case SensorKind.Motion or SensorKind.Presence when e.Active:
                OnActivityInside(e);
                break;
            default:
                break;
        }

        alarms.AddRange(OnTime(e.At));
        return alarms;
    }

    public IReadOnlyList<AlarmRequest> OnTime(DateTimeOffset now)
    {
        if (_wandering is { } w && now >= w.Deadline)
        {
            _wandering = null;
            var local = TimeZoneInfo.ConvertTime(w.OpenedAt, _zone);
            var reason = string.Create(
                CultureInfo.InvariantCulture,
                $"Outer door opened at {local:HH:mm} in the night window {_profile.NightWindow}; nobody seen back inside within {_profile.Wandering.GraceMinutes:0.#} min");
            return [new AlarmRequest(AlarmType.Wandering, w.DoorId, w.Room, reason, w.Deadline)];
        }

        return [];
    }

    private void OnDoor(SensorEvent e, bool opened)
    {
        if (!_profile.Wandering.Enabled || !_sensors.TryGetValue(e.SensorId, out var door) || !door.OuterDoor)
        {
            return;
        }

        if (opened && _wandering is null && IsNight(e.At))
        {
            _wandering = new PendingWandering(e.SensorId, e.Room, e.At, e.At + TimeSpan.FromMinutes(_profile.Wandering.GraceMinutes));
        }
        else if (!e.Active && _wandering is { } w && w.DoorId == e.SensorId)
        {
            // A closing door is not proof of return: wait for movement inside.
            _wandering = w with { ClosedAt = e.At };
        }
    }

    private void OnActivityInside(SensorEvent e)
    {
        if (_wandering is { ClosedAt: { } closed } && e.At >= closed)
        {
            _wandering = null;
        }
    }

    private bool IsNight(DateTimeOffset at) =>
        _profile.NightWindow.Contains(TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, _zone).DateTime));

    private sealed record PendingWandering(string DoorId, string Room, DateTimeOffset OpenedAt, DateTimeOffset Deadline)
    {
        public DateTimeOffset? ClosedAt { get; init; }
    }
}
