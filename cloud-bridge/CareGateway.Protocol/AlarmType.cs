namespace CareGateway.Protocol;

/// <summary>
/// Alarm type names as they go over the wire. Fixed from protocol version 1 on: never rename one.
/// </summary>
public static class AlarmType
{
    public const string Fall = "fall";
    public const string Panic = "panic";
    public const string Wandering = "wandering";
    public const string BedExit = "bed-exit";
    public const string NotUp = "not-up";
    public const string Inactivity = "inactivity";
    public const string BathroomStay = "bathroom-stay";
    public const string Smoke = "smoke";
    /// <summary>The pull cord (snortrekk) was pulled: VKP 4.14.</summary>
    public const string PullCord = "pull-cord";
    /// <summary>The epilepsy (seizure) sensor alarmed: VKP 4.24.</summary>
    public const string Epilepsy = "epilepsy";
    /// <summary>Carbon monoxide detected (VKP v0.9.0 has no code: category 4).</summary>
    public const string CarbonMonoxide = "co";
    /// <summary>A gas leak detected (VKP v0.9.0 has no code: category 4).</summary>
    public const string Gas = "gas";
    public const string Water = "water";
    public const string Tamper = "tamper";
    public const string LowBattery = "low-battery";
    public const string SensorOffline = "sensor-offline";
    /// <summary>zigbee2mqtt or its local broker went away: every Zigbee sensor of the home is unheard (one alarm, listing them).</summary>
    public const string ZigbeeOffline = "zigbee-offline";
    public const string GatewayPower = "gateway-power";
    /// <summary>The gateway found a fault in itself (for example its alarm store was corrupt and was replaced).</summary>
    public const string GatewayFault = "gateway-fault";
    public const string Test = "test";
}

/// <summary>Queue order at the centre; <see cref="Critical"/> first.</summary>
public enum AlarmPriority
{
    [System.Text.Json.Serialization.JsonStringEnumMemberName("critical")]
    Critical = 1,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("high")]
    High = 2,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("medium")]
    Medium = 3,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("low")]
    Low = 4,
}

/// <summary>VKP triage levels (code system vkp-triage-v090).</summary>
public static class Triage
{
    /// <summary>Immediate.</summary>
    public const string Red = "R";
    /// <summary>Very urgent.</summary>
    public const string Orange = "O";
    /// <summary>Urgent.</summary>
    public const string Yellow = "Y";
    /// <summary>Standard.</summary>
    public const string Green = "G";
    /// <summary>Non-urgent.</summary>
    public const string Blue = "B";

    public static bool IsValid(string value) => value is Red or Orange or Yellow or Green or Blue;
}

/// <summary>What one alarm type means to the centre and to the patient record.</summary>
/// <param name="Type">Wire name, one of <see cref="AlarmType"/>.</param>
/// <param name="VkpCode">Code in http://ehelse.no/fhir/CodeSystem/vkp-alert-code-v090.</param>
/// <param name="VkpDisplay">The code system's own (Norwegian) display text.</param>
/// <param name="Triage">Default VKP triage level.</param>
/// <param name="Priority">Default queue priority; a care profile may override it.</param>
/// <param name="Technical">A technical fault rather than a call about the resident.</param>
public sealed record AlarmTypeInfo(
    string Type,
    string VkpCode,
    string VkpDisplay,
    string Triage,
    AlarmPriority Priority,
    bool Technical);

/// <summary>
/// The one table that maps alarm types to VKP alert codes (v0.9.0) and triage. docs/protocol.md shows the same table;
/// a test keeps the two equal.
/// </summary>
public static class AlarmCatalog
{
    public const string VkpAlertCodeSystem = "http://ehelse.no/fhir/CodeSystem/vkp-alert-code-v090";
    public const string VkpTriageCodeSystem = "http://ehelse.no/fhir/CodeSystem/vkp-triage-v090";

    // VKP v0.9.0 has no code for a technical fault of digital supervision ("4 Digitalt tilsyn");
    // technical alarms carry the category code and say what failed in their own type. Nor has it one for carbon monoxide
    // or gas: those carry the category code too (not technical, triage R) and say what in their type.
    private const string DigitalSupervision = "4";
    private const string DigitalSupervisionDisplay = "Digitalt tilsyn";

    public static IReadOnlyList<AlarmTypeInfo> All { get; } =
    [
        new(AlarmType.Fall, "4.1", "Fall", Triage.Red, AlarmPriority.Critical, false),
        new(AlarmType.Panic, "4.13", "Knappetrykk", Triage.Red, AlarmPriority.Critical, false),
        new(AlarmType.Smoke, "4.11", "Brannalarm", Triage.Red, AlarmPriority.Critical, false),
        new(AlarmType.PullCord, "4.14", "Snortrekk", Triage.Red, AlarmPriority.Critical, false),
        new(AlarmType.Epilepsy, "4.24", "Epilepsi", Triage.Red, AlarmPriority.Critical, false),
        new(AlarmType.CarbonMonoxide, DigitalSupervision, DigitalSupervisionDisplay, Triage.Red, AlarmPriority.Critical, false),
        new(AlarmType.Gas, DigitalSupervision, DigitalSupervisionDisplay, Triage.Red, AlarmPriority.Critical, false),
        new(AlarmType.Water, "4.17", "Vannalarm", Triage.Orange, AlarmPriority.High, false),
        new(AlarmType.Wandering, "4.21", "Forlatt bolig", Triage.Orange, AlarmPriority.High, false),
        new(AlarmType.BathroomStay, "4.23", "Inaktivitet bad", Triage.Orange, AlarmPriority.High, false),
        new(AlarmType.Inactivity, "4.9", "Inaktivitet", Triage.Orange, AlarmPriority.High, false),
        new(AlarmType.BedExit, "4.2", "Forlatt sengen", Triage.Yellow, AlarmPriority.Medium, false),
        new(AlarmType.NotUp, "4.19", "Manglende bevegelse", Triage.Yellow, AlarmPriority.Medium, false),
        new(AlarmType.GatewayPower, DigitalSupervision, DigitalSupervisionDisplay, Triage.Green, AlarmPriority.Medium, true),
        new(AlarmType.GatewayFault, DigitalSupervision, DigitalSupervisionDisplay, Triage.Green, AlarmPriority.Medium, true),
        new(AlarmType.ZigbeeOffline, DigitalSupervision, DigitalSupervisionDisplay, Triage.Green, AlarmPriority.Medium, true),
        new(AlarmType.Tamper, DigitalSupervision, DigitalSupervisionDisplay, Triage.Green, AlarmPriority.Low, true),
        new(AlarmType.SensorOffline, DigitalSupervision, DigitalSupervisionDisplay, Triage.Green, AlarmPriority.Low, true),
        new(AlarmType.LowBattery, DigitalSupervision, DigitalSupervisionDisplay, Triage.Blue, AlarmPriority.Low, true),
        new(AlarmType.Test, DigitalSupervision, DigitalSupervisionDisplay, Triage.Blue, AlarmPriority.Low, true),
    ];

    private static readonly Dictionary<string, AlarmTypeInfo> ByType = All.ToDictionary(i => i.Type, StringComparer.Ordinal);

    /// <summary>
    /// The calls that are never swallowed while an alarm of theirs is open: a press or pull, a fall, a seizure, smoke, CO, gas and water. Another one
    /// is a repeat of the open alarm and goes to the centre (a resident pressing again because nobody came is the most
    /// urgent signal there is); any other type's repeat is the same condition still holding and adds nothing.
    /// </summary>
    public static IReadOnlyList<string> RepeatedTypes { get; } =
        [AlarmType.Panic, AlarmType.Fall, AlarmType.Smoke, AlarmType.Water, AlarmType.PullCord, AlarmType.Epilepsy, AlarmType.CarbonMonoxide, AlarmType.Gas];

    /// <summary>Is another event of this type, while its alarm is open, a repeat the centre must hear of.</summary>
    public static bool Repeats(string type) => RepeatedTypes.Contains(type, StringComparer.Ordinal);

    public static bool IsKnown(string type) => ByType.ContainsKey(type);

    public static AlarmTypeInfo Get(string type) =>
        ByType.TryGetValue(type, out var info)
            ? info
            : throw new ArgumentException($"Unknown alarm type '{type}'. Known types: {string.Join(", ", ByType.Keys)}.", nameof(type));
}
