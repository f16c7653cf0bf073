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

/// <summary>The resident's care profile: which rules apply, with which thresholds, in which local time.</summary>
public sealed record CareProfile
{
    public const string DefaultTimeZone = "Europe/Oslo";

    /// <summary>IANA time zone id for all local-time rules.</summary>
    public string TimeZone { get; init; } = DefaultTimeZone;

    public TimeWindow NightWindow { get; init; } = new(new TimeOnly(22, 0), new TimeOnly(6, 0));

    public WanderingRule Wandering { get; init; } = new();

    /// <summary>Priority overrides per alarm type; types not listed keep the catalog's default.</summary>
    public IReadOnlyDictionary<string, AlarmPriority> Priorities { get; init; } = new Dictionary<string, AlarmPriority>();

    public TimeZoneInfo ResolveTimeZone() => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    public AlarmPriority PriorityOf(string alarmType) =>
        Priorities.TryGetValue(alarmType, out var p) ? p : AlarmCatalog.Get(alarmType).Priority;
}
