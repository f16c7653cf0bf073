using System.Text.Json.Serialization;

namespace CareGateway.Sensors;

/// <summary>What a sensor detects. The rules see only this, never a GPIO pin or a Zigbee property.</summary>
public enum SensorKind
{
    /// <summary>Active: a fall was detected (wired fall detector relay, fall-detecting radar).</summary>
    [JsonStringEnumMemberName("fall")] Fall,

    /// <summary>Active: the door is open.</summary>
    [JsonStringEnumMemberName("door")] Door,

    /// <summary>Active: somebody is in bed (pressure mat occupied).</summary>
    [JsonStringEnumMemberName("bed")] Bed,

    /// <summary>Active: motion seen (PIR); an event, the inactive edge carries little meaning.</summary>
    [JsonStringEnumMemberName("motion")] Motion,

    /// <summary>Active: somebody is present (mmWave presence).</summary>
    [JsonStringEnumMemberName("presence")] Presence,

    /// <summary>Active: the panic button or pull cord is pressed.</summary>
    [JsonStringEnumMemberName("panic")] Panic,

    /// <summary>Active: smoke detected.</summary>
    [JsonStringEnumMemberName("smoke")] Smoke,

    /// <summary>Active: water leak detected.</summary>
    [JsonStringEnumMemberName("water")] Water,

    /// <summary>Active: the resident pressed the cancel button of a local pre-alarm.</summary>
    [JsonStringEnumMemberName("cancel-button")] CancelButton,

    /// <summary>Active: mains power has failed (UPS or power-fail input).</summary>
    [JsonStringEnumMemberName("power-fail")] PowerFail,

    /// <summary>Active: the resident pressed the away button (leaving home or back home: each press toggles the away state).</summary>
    [JsonStringEnumMemberName("away-button")] AwayButton,

    /// <summary>Active: staff or a visitor at the door pressed the visitor button (arriving or leaving: each press toggles the visitor state).</summary>
    [JsonStringEnumMemberName("visitor-button")] VisitorButton,

    /// <summary>Active: the pull cord (snortrekk, typically in the bathroom) is pulled.</summary>
    [JsonStringEnumMemberName("pull-cord")] PullCord,

    /// <summary>Active: the epilepsy (seizure) sensor alarms, a dry contact or a Zigbee input.</summary>
    [JsonStringEnumMemberName("epilepsy")] Epilepsy,

    /// <summary>Active: carbon monoxide detected.</summary>
    [JsonStringEnumMemberName("co")] CarbonMonoxide,

    /// <summary>Active: a gas leak (natural gas, LPG) detected.</summary>
    [JsonStringEnumMemberName("gas")] Gas,

    /// <summary>Active: vibration detected (a bed or chair vibration sensor); an event, like motion.</summary>
    [JsonStringEnumMemberName("vibration")] Vibration,

    /// <summary>A room temperature sensor: never active; each reading carries <see cref="SensorEvent.Value"/> in °C.</summary>
    [JsonStringEnumMemberName("temperature")] Temperature,
}

/// <summary>Health of a sensor, as far as its source reports it.</summary>
public sealed record SensorHealth
{
    public int? BatteryPercent { get; init; }
    public bool? BatteryLow { get; init; }
    public bool? Tamper { get; init; }
    public int? LinkQuality { get; init; }

    /// <summary>True: the source reports the sensor unreachable (the event's <c>Active</c> then means nothing); false: reachable again.</summary>
    public bool? Offline { get; init; }
}

/// <summary>One normalized sensor event, whatever the source.</summary>
/// <param name="SensorId">The id declared in the config.</param>
/// <param name="Kind">What the sensor detects.</param>
/// <param name="Room">Room label from the config.</param>
/// <param name="Active">The new state: see <see cref="SensorKind"/> for what active means per kind.</param>
/// <param name="At">When the change happened (UTC).</param>
/// <param name="Health">Health fields when the message carried them.</param>
/// <param name="Type">What the event says: a new state (the default), only that the sensor was heard, or that it went offline or came back.</param>
/// <param name="Detail">For <see cref="SensorEventType.Offline"/> and <see cref="SensorEventType.Online"/>: why (for example <c>supervision-timeout</c>, <c>zigbee2mqtt-offline</c>).</param>
/// <param name="Value">A measured value: for <see cref="SensorKind.Temperature"/> the temperature in °C; null otherwise.</param>
public sealed record SensorEvent(
    string SensorId,
    SensorKind Kind,
    string Room,
    bool Active,
    DateTimeOffset At,
    SensorHealth? Health = null,
    SensorEventType Type = SensorEventType.State,
    string? Detail = null,
    double? Value = null);

/// <summary>What a <see cref="SensorEvent"/> says.</summary>
public enum SensorEventType
{
    /// <summary>The sensor's state changed to <see cref="SensorEvent.Active"/>.</summary>
    State,

    /// <summary>The sensor reported without a change of state (health fields, a repeated state); for health tracking only.</summary>
    Heard,

    /// <summary>The sensor can no longer be heard (<c>sensor-offline</c>): a technical fault, not an alarm. <see cref="SensorEvent.Active"/> is the last known state.</summary>
    Offline,

    /// <summary>The sensor can be heard again. <see cref="SensorEvent.Active"/> is the last known state.</summary>
    Online,
}

/// <summary>The wire names of <see cref="SensorKind"/> (as in the configuration and the protocol).</summary>
public static class SensorKinds
{
    public static string Name(SensorKind kind) => kind switch
    {
        SensorKind.Fall => "fall",
        SensorKind.Door => "door",
        SensorKind.Bed => "bed",
        SensorKind.Motion => "motion",
        SensorKind.Presence => "presence",
        SensorKind.Panic => "panic",
        SensorKind.Smoke => "smoke",
        SensorKind.Water => "water",
        SensorKind.CancelButton => "cancel-button",
        SensorKind.PowerFail => "power-fail",
        SensorKind.AwayButton => "away-button",
        SensorKind.VisitorButton => "visitor-button",
        SensorKind.PullCord => "pull-cord",
        SensorKind.Epilepsy => "epilepsy",
        SensorKind.CarbonMonoxide => "co",
        SensorKind.Gas => "gas",
        SensorKind.Vibration => "vibration",
        SensorKind.Temperature => "temperature",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
