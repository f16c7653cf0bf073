using System.Text.Json;
using System.Text.Json.Serialization;
using CareGateway.Protocol;

namespace CareGateway.Core;

/// <summary>
/// Everything the <see cref="RuleEngine"/> remembers between inputs: sensor states, running timers, held pre-alarms
/// and the away state. Plain data so that it can be written to disk after every input and read back after a restart
/// (a gateway rebooted in the middle of the night still raises the pending bed-exit alarm).
/// </summary>
public sealed class RuleSnapshot
{
    public const int CurrentVersion = 1;

    public int Version { get; set; } = CurrentVersion;

    /// <summary>The latest time the engine has seen (event time or clock).</summary>
    public DateTimeOffset? Now { get; set; }

    /// <summary>Last known active state per sensor.</summary>
    public Dictionary<string, bool> Active { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The last activity from any sensor (motion, presence, door, bed, buttons).</summary>
    public DateTimeOffset? LastActivityAt { get; set; }

    /// <summary>The <see cref="LastActivityAt"/> the inactivity alarm was last raised for (one alarm per quiet period).</summary>
    public DateTimeOffset? InactivityRaisedFor { get; set; }

    /// <summary>Daily checks (not-up deadline, inactivity windows) have been evaluated up to this time.</summary>
    public DateTimeOffset? DailyCheckedUntil { get; set; }

    public WanderingState? Wandering { get; set; }

    public Dictionary<string, BedState> Beds { get; set; } = new(StringComparer.Ordinal);

    public BathroomState? Bathroom { get; set; }

    public AwayState? Away { get; set; }

    /// <summary>Home care or a visitor is present (set by the visitor button or a command); null when not.</summary>
    public VisitorState? Visitor { get; set; }

    /// <summary>Outer door opened and closed outside the night window with nobody seen inside since: maybe gone out.</summary>
    public DateTimeOffset? LeaveCandidateAt { get; set; }

    public List<string> LowBattery { get; set; } = [];

    public List<string> Tamper { get; set; } = [];

    public List<string> Offline { get; set; } = [];

    /// <summary>zigbee2mqtt or its broker is away: one outage for the home instead of one offline alarm per sensor.</summary>
    public ZigbeeOutageState? ZigbeeOutage { get; set; }

    /// <summary>Zigbee sensors reported unavailable one by one, waiting to be judged: alone, or all together (an outage).</summary>
    public List<PendingOffline> PendingOffline { get; set; } = [];

    public List<HeldAlarm> Held { get; set; } = [];

    public string ToJson() => JsonSerializer.Serialize(this, RuleSnapshotJson.Default.RuleSnapshot);

    /// <summary>Reads a snapshot; null when the text is not a snapshot of this version (the engine then starts fresh).</summary>
    public static RuleSnapshot? FromJson(string json)
    {
        try
        {
            var s = JsonSerializer.Deserialize(json, RuleSnapshotJson.Default.RuleSnapshot);
            return s?.Version == CurrentVersion ? s : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

public sealed class WanderingState
{
    public string DoorId { get; set; } = string.Empty;
    public string Room { get; set; } = string.Empty;
    public DateTimeOffset OpenedAt { get; set; }
    public DateTimeOffset Deadline { get; set; }
    public DateTimeOffset? ClosedAt { get; set; }
}

public sealed class BedState
{
    public string Room { get; set; } = string.Empty;

    /// <summary>In bed since (null: not in bed).</summary>
    public DateTimeOffset? InBedSince { get; set; }

    /// <summary>Out of bed at night after the minimum time in bed: the bed-exit timer runs from here.</summary>
    public DateTimeOffset? OutSince { get; set; }

    public double InBedMinutes { get; set; }
}

public sealed class BathroomState
{
    public string SensorId { get; set; } = string.Empty;
    public string Room { get; set; } = string.Empty;
    public DateTimeOffset Since { get; set; }
    public DateTimeOffset LastSeenAt { get; set; }
    public bool Raised { get; set; }
}

public sealed class VisitorState
{
    public DateTimeOffset Since { get; set; }
    public string Source { get; set; } = string.Empty;
}

public sealed class AwayState
{
    public DateTimeOffset Since { get; set; }
    public string Source { get; set; } = string.Empty;
    public bool Reported { get; set; }

    /// <summary>While away: the outer door closed at this time; activity inside after it means the resident is back.</summary>
    public DateTimeOffset? DoorClosedAt { get; set; }
}

/// <summary>An outage of zigbee2mqtt (or its broker): gathered for a short time, then one <c>zigbee-offline</c> alarm.</summary>
public sealed class ZigbeeOutageState
{
    public DateTimeOffset Since { get; set; }

    /// <summary>What went away: the detail of the offline reports (<c>zigbee2mqtt-offline</c>, <c>local-broker-unreachable</c>, <c>device-unavailable</c>).</summary>
    public string Cause { get; set; } = string.Empty;

    /// <summary>Offline reports until then belong to the outage; its alarm is raised then, if it still lasts.</summary>
    public DateTimeOffset GatherUntil { get; set; }

    public bool Reported { get; set; }

    /// <summary>Every sensor the outage covered (listed in its alarm).</summary>
    public List<string> Affected { get; set; } = [];

    /// <summary>The covered sensors not heard again yet; the outage is over when none is left.</summary>
    public List<string> Offline { get; set; } = [];

    /// <summary>zigbee2mqtt (or the broker) said it is back; sensors still not heard a short time later are offline on their own.</summary>
    public DateTimeOffset? ReturnedAt { get; set; }
}

/// <summary>A Zigbee sensor reported unavailable, waiting for the gathering time to end.</summary>
public sealed class PendingOffline
{
    public string SensorId { get; set; } = string.Empty;
    public string Kind { get; set; } = string.Empty;
    public string Room { get; set; } = string.Empty;
    public DateTimeOffset At { get; set; }
}

/// <summary>An alarm held for the local pre-alarm until <see cref="Until"/>.</summary>
public sealed class HeldAlarm
{
    public string Type { get; set; } = string.Empty;
    public string? SensorId { get; set; }
    public string? Room { get; set; }
    public string Reason { get; set; } = string.Empty;
    public DateTimeOffset At { get; set; }
    public DateTimeOffset Until { get; set; }

    public AlarmRequest ToRequest(AlarmState state = AlarmState.Raised) => new(Type, SensorId, Room, Reason, At) { State = state };
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RuleSnapshot))]
internal sealed partial class RuleSnapshotJson : JsonSerializerContext;

/// <summary>Where the engine's state is kept between restarts (a file in the data directory); the Core does no I/O itself.</summary>
public interface IRuleStateStore
{
    /// <summary>The last saved state, or null when there is none (or it cannot be read: the engine starts fresh).</summary>
    RuleSnapshot? Load();

    /// <summary>Saves the state atomically: after a crash either the old or the new state is found, never half of one.</summary>
    void Save(RuleSnapshot snapshot);
}

/// <summary>The local pre-alarm outputs (buzzer, LED): told when an alarm is held for the cancel window and when it ends.</summary>
public interface IPreAlarmSignal
{
    void Started(AlarmRequest alarm, DateTimeOffset until);

    void Ended(AlarmRequest alarm, bool cancelled);
}
