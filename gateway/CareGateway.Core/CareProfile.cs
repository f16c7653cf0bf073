using CareGateway.Protocol;

namespace CareGateway.Core;

/// <summary>A daily window in local time; it may cross midnight (22:00-06:00).</summary>
public sealed record TimeWindow(TimeOnly Start, TimeOnly End)
{
    public bool Contains(TimeOnly time) =>
        Start <= End ? time >= Start && time < End : time >= Start || time < End;

    public override string ToString() => $"{Start:HH\\:mm}-{End:HH\\:mm}";
}

/// <summary>Night wandering: the outer door opens in the night window and nobody is seen back inside within the grace time.</summary>
public sealed record WanderingRule
{
    public bool Enabled { get; init; } = true;
    public double GraceMinutes { get; init; } = 5;
    public AlarmPriority? Priority { get; init; }
}

/// <summary>
/// Out of bed at night: the bed mat reports the resident out of bed during the night window after at least
/// <see cref="MinInBedMinutes"/> in bed, and they are not back within <see cref="MaxAbsentMinutes"/>.
/// </summary>
public sealed record BedExitRule
{
    public bool Enabled { get; init; } = true;
    public double MinInBedMinutes { get; init; } = 10;
    public double MaxAbsentMinutes { get; init; } = 5;
    public AlarmPriority? Priority { get; init; }
}

/// <summary>An unusually long stay in the bathroom: activity in a bathroom room and none elsewhere since, beyond the threshold.</summary>
public sealed record BathroomStayRule
{
    public bool Enabled { get; init; } = true;
    public double MaxMinutes { get; init; } = 60;

    /// <summary>Room labels (of <see cref="CareGateway.Sensors.SensorDefinition.Room"/>) that count as a bathroom.</summary>
    public IReadOnlyList<string> Rooms { get; init; } = ["bathroom"];

    public AlarmPriority? Priority { get; init; }
}

/// <summary>Not up in the morning: at <see cref="Deadline"/> (local) the resident is still in bed, or no activity has been seen since <see cref="From"/>.</summary>
public sealed record NotUpRule
{
    /// <summary>Off by default: a morning deadline is personal.</summary>
    public bool Enabled { get; init; }
    public TimeOnly Deadline { get; init; } = new(9, 0);

    /// <summary>Activity counts from this local time; null means the end of the night window.</summary>
    public TimeOnly? From { get; init; }
    public AlarmPriority? Priority { get; init; }
}

public enum InactivityMode
{
    /// <summary>No activity for longer than the day or night threshold, at any time.</summary>
    Continuous,

    /// <summary>No activity at all inside one of the daily windows: checked when the window ends.</summary>
    Windows,
}

/// <summary>No activity from any sensor while the resident is at home.</summary>
public sealed record InactivityRule
{
    /// <summary>Off by default: it needs sensors placed so that ordinary life is seen (not a bedroom PIR alone).</summary>
    public bool Enabled { get; init; }
    public InactivityMode Mode { get; init; } = InactivityMode.Continuous;
    public double DayHours { get; init; } = 12;
    public double NightHours { get; init; } = 14;
    public IReadOnlyList<TimeWindow> Windows { get; init; } = [];
    public AlarmPriority? Priority { get; init; }
}

/// <summary>Technical alarms: battery, tamper, offline sensors, mains power.</summary>
public sealed record TechnicalRules
{
    public bool LowBattery { get; init; } = true;

    /// <summary>A battery at or below this percentage counts as low (when the sensor reports a percentage).</summary>
    public int LowBatteryPercent { get; init; } = 15;
    public bool Tamper { get; init; } = true;
    public bool SensorOffline { get; init; } = true;
    public bool GatewayPower { get; init; } = true;
}

/// <summary>
/// The visitor state (home care or a visitor present): inactivity, not-up, bathroom-stay and wandering pause while it
/// lasts. Immediate and technical alarms never pause.
/// </summary>
public sealed record VisitorRule
{
    /// <summary>A visit not ended by the button or a command ends by itself after this many minutes.</summary>
    public double MaxMinutes { get; init; } = 120;
}

/// <summary>The away state: door, bed and inactivity rules pause while the resident is out.</summary>
public sealed record AwayRule
{
    /// <summary>Away longer than this is reported to the centre.</summary>
    public double MaxHours { get; init; } = 24;

    /// <summary>
    /// Door sequence: outside the night window, the outer door opens and closes and no activity is seen inside for this
    /// many minutes: the resident has gone out. Null: only the away button or a command sets away.
    /// </summary>
    public double? AutoAfterMinutes { get; init; }
}

/// <summary>The local pre-alarm: buzzer and LED, with a window in which the resident may cancel with the cancel button.</summary>
public sealed record PreAlarmRule
{
    public bool Enabled { get; init; }
    public double CancelWindowSeconds { get; init; } = 60;

    /// <summary>The longest a fall may be held; never more than <see cref="MaxFallGuardSeconds"/>.</summary>
    public double FallGuardSeconds { get; init; } = 15;

    /// <summary>Alarm types that may be held and cancelled locally. Panic, smoke and water never are.</summary>
    public IReadOnlyList<string> CancellableTypes { get; init; } = [AlarmType.BedExit, AlarmType.NotUp, AlarmType.Inactivity, AlarmType.BathroomStay];

    public const double MaxFallGuardSeconds = 30;

    /// <summary>Types that are never delayed, whatever a profile says.</summary>
    public static IReadOnlyList<string> NeverDelayed { get; } =
        [AlarmType.Panic, AlarmType.Smoke, AlarmType.Water, AlarmType.PullCord, AlarmType.Epilepsy, AlarmType.CarbonMonoxide, AlarmType.Gas];

    /// <summary>How long an alarm of this type is held before it is sent; zero when it is sent at once.</summary>
    public TimeSpan HoldFor(string type)
    {
        if (!Enabled || NeverDelayed.Contains(type) || !CancellableTypes.Contains(type))
        {
            return TimeSpan.Zero;
        }

        return type == AlarmType.Fall
            ? TimeSpan.FromSeconds(Math.Min(Math.Min(FallGuardSeconds, CancelWindowSeconds), MaxFallGuardSeconds))
            : TimeSpan.FromSeconds(CancelWindowSeconds);
    }
}

/// <summary>The resident's care profile: which rules apply, with which thresholds, in which local time.</summary>
public sealed record CareProfile
{
    public const string DefaultTimeZone = "Europe/Oslo";

    /// <summary>IANA time zone id for all local-time rules.</summary>
    public string TimeZone { get; init; } = DefaultTimeZone;

    public TimeWindow NightWindow { get; init; } = new(new TimeOnly(22, 0), new TimeOnly(6, 0));

    public WanderingRule Wandering { get; init; } = new();

    public BedExitRule BedExit { get; init; } = new();

    public BathroomStayRule BathroomStay { get; init; } = new();

    public NotUpRule NotUp { get; init; } = new();

    public InactivityRule Inactivity { get; init; } = new();

    public TechnicalRules Technical { get; init; } = new();

    public AwayRule Away { get; init; } = new();

    public VisitorRule Visitor { get; init; } = new();

    public PreAlarmRule PreAlarm { get; init; } = new();

    /// <summary>Priority overrides per alarm type; types not listed keep the catalog's default.</summary>
    public IReadOnlyDictionary<string, AlarmPriority> Priorities { get; init; } = new Dictionary<string, AlarmPriority>();

    public TimeZoneInfo ResolveTimeZone() => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    public AlarmPriority PriorityOf(string alarmType)
    {
        var perRule = alarmType switch
        {
            AlarmType.Wandering => Wandering.Priority,
            AlarmType.BedExit => BedExit.Priority,
            AlarmType.BathroomStay => BathroomStay.Priority,
            AlarmType.NotUp => NotUp.Priority,
            AlarmType.Inactivity => Inactivity.Priority,
            _ => null,
        };
        return perRule ?? (Priorities.TryGetValue(alarmType, out var p) ? p : AlarmCatalog.Get(alarmType).Priority);
    }
}
