using CareGateway.Protocol;

namespace CareGateway;

/// <summary>The <c>careProfile</c> section of the configuration (docs/care-profile.md explains every setting).</summary>
/// <remarks>Settable properties, not init-only: source-generated JSON would overwrite the defaults of absent init-only properties.</remarks>
public sealed record CareProfileConfig
{
    public string TimeZone { get; set; } = Core.CareProfile.DefaultTimeZone;

    public TimeWindowConfig NightWindow { get; set; } = new();

    public WanderingConfig Wandering { get; set; } = new();

    public BedExitConfig BedExit { get; set; } = new();

    public BathroomStayConfig BathroomStay { get; set; } = new();

    public NotUpConfig NotUp { get; set; } = new();

    public InactivityConfig Inactivity { get; set; } = new();

    public TechnicalConfig Technical { get; set; } = new();

    public AwayConfig Away { get; set; } = new();

    public VisitorConfig Visitor { get; set; } = new();

    public PreAlarmConfig PreAlarm { get; set; } = new();

    /// <summary>Priority per alarm type, overriding the catalog's default (a rule's own <c>priority</c> wins over this).</summary>
    public Dictionary<string, AlarmPriority> Priorities { get; set; } = [];
}

public sealed record TimeWindowConfig
{
    /// <summary>Local time, HH:mm.</summary>
    public string Start { get; set; } = "22:00";

    /// <summary>Local time, HH:mm; before <see cref="Start"/> means the window crosses midnight.</summary>
    public string End { get; set; } = "06:00";
}

public sealed record WanderingConfig
{
    public bool Enabled { get; set; } = true;

    public double GraceMinutes { get; set; } = 5;

    public AlarmPriority? Priority { get; set; }
}

public sealed record BedExitConfig
{
    public bool Enabled { get; set; } = true;

    public double MinInBedMinutes { get; set; } = 10;

    public double MaxAbsentMinutes { get; set; } = 5;

    public AlarmPriority? Priority { get; set; }
}

public sealed record BathroomStayConfig
{
    public bool Enabled { get; set; } = true;

    public double MaxMinutes { get; set; } = 60;

    public List<string> Rooms { get; set; } = ["bathroom"];

    public AlarmPriority? Priority { get; set; }
}

public sealed record NotUpConfig
{
    public bool Enabled { get; set; }

    /// <summary>Local time, HH:mm.</summary>
    public string Deadline { get; set; } = "09:00";

    /// <summary>Local time, HH:mm, from which activity counts; absent: the end of the night window.</summary>
    public string? From { get; set; }

    public AlarmPriority? Priority { get; set; }
}

public sealed record InactivityConfig
{
    public bool Enabled { get; set; }

    /// <summary><c>continuous</c> or <c>windows</c>.</summary>
    public string Mode { get; set; } = "continuous";

    public double DayHours { get; set; } = 12;

    public double NightHours { get; set; } = 14;

    public List<TimeWindowConfig> Windows { get; set; } = [];

    public AlarmPriority? Priority { get; set; }
}

public sealed record TechnicalConfig
{
    public bool LowBattery { get; set; } = true;

    public int LowBatteryPercent { get; set; } = 15;

    public bool Tamper { get; set; } = true;

    public bool SensorOffline { get; set; } = true;

    public bool GatewayPower { get; set; } = true;
}

public sealed record VisitorConfig
{
    public double MaxMinutes { get; set; } = 120;
}

public sealed record AwayConfig
{
    public double MaxHours { get; set; } = 24;

    public double? AutoAfterMinutes { get; set; }
}

public sealed record PreAlarmConfig
{
    public bool Enabled { get; set; }

    public double CancelWindowSeconds { get; set; } = 60;

    public double FallGuardSeconds { get; set; } = 15;

    public List<string> CancellableTypes { get; set; } = [AlarmType.BedExit, AlarmType.NotUp, AlarmType.Inactivity, AlarmType.BathroomStay];
}
