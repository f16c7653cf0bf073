using System.Text.Json;

namespace CareGateway.Sensors.Zigbee;

/// <summary>What one zigbee2mqtt state message says about one sensor.</summary>
/// <param name="Active">The state it reports; null when the message does not carry the sensor's property (or a value that means nothing for it).</param>
/// <param name="IsEvent">True for momentary events (an <c>action</c> such as <c>emergency</c>): active, then at once inactive.</param>
/// <param name="Error">Set when the property is present with a value of the wrong type.</param>
/// <param name="Value">A measured value (°C for <see cref="SensorKind.Temperature"/>).</param>
public readonly record struct ZigbeeReading(bool? Active, bool IsEvent, string? Error, double? Value = null);

/// <summary>What an enum state value means, whatever the device: see <see cref="ZigbeeVocabulary"/>.</summary>
public enum ZigbeeStateMeaning
{
    /// <summary>Not in the vocabulary (or <c>unknown</c>): says nothing; the sensor keeps its state.</summary>
    Unknown,

    /// <summary>Somebody is there (in bed, in the room, sitting, moving, breathing still).</summary>
    Occupied,

    /// <summary>Nobody is there / all clear.</summary>
    Vacant,

    /// <summary>A fall (or a possible fall: it is called in).</summary>
    Fall,
}

/// <summary>
/// The small vocabulary that gives meaning to zigbee2mqtt's enum states (<c>status</c>, <c>presence_state</c>,
/// <c>pressure_state</c>, <c>fall_down_status</c>...) by their values, never by device model. docs/sensors.md shows it.
/// </summary>
public static class ZigbeeVocabulary
{
    /// <summary>Enum values, lower case, and what they mean.</summary>
    public static IReadOnlyDictionary<string, ZigbeeStateMeaning> Values { get; } = Build(
        (ZigbeeStateMeaning.Fall, ["fall", "falling", "fallen", "fall_alarm", "fall_detected", "fall_warning", "maybe_fall", "fall_down", "tumble"]),
        (ZigbeeStateMeaning.Occupied, [
            "occupied", "presence", "present", "people", "someone", "in_bed", "on_bed", "on_the_bed", "sit", "sitting", "sedentary",
            "peaceful", "small_movement", "large_movement", "motion", "moving", "move", "stationary", "static", "still", "breathing",
            "low_posture", "presence_5min", "presence_30min", "pressure", "pressed", "occupancy"]),
        (ZigbeeStateMeaning.Vacant, [
            "none", "no", "unoccupied", "vacant", "absent", "absence", "no_presence", "nobody", "clear", "normal", "idle", "off",
            "no_fall", "out_of_bed", "leave", "left", "none_5min", "none_30min", "not_occupied", "empty", "no_one", "released"]));

    /// <summary>What <paramref name="value"/> means (case-insensitive); <see cref="ZigbeeStateMeaning.Unknown"/> when not in the table.</summary>
    public static ZigbeeStateMeaning Meaning(string value) =>
        Values.TryGetValue(value.Trim().ToLowerInvariant(), out var m) ? m : ZigbeeStateMeaning.Unknown;

    private static Dictionary<string, ZigbeeStateMeaning> Build(params (ZigbeeStateMeaning Meaning, string[] Words)[] groups)
    {
        var d = new Dictionary<string, ZigbeeStateMeaning>(StringComparer.Ordinal);
        foreach (var (meaning, words) in groups)
        {
            foreach (var w in words)
            {
                d.Add(w, meaning);
            }
        }

        return d;
    }
}

/// <summary>
/// Maps zigbee2mqtt properties to sensor states by kind, generically (never per model). When the device's exposes are
/// known (<c>bridge/devices</c>) they decide: a kind reads the state exposes (access bit 1, not a setting) whose property
/// names what it detects, then any enum state whose values (through <see cref="ZigbeeVocabulary"/>) speak of it; a binary
/// means active at its <c>value_on</c>. Before the exposes are known, the property names alone. docs/sensors.md lists the map.
/// </summary>
public static class ZigbeePropertyMap
{
    /// <summary>Action values that are a call for help.</summary>
    private static readonly string[] EmergencyWords = ["emergency", "sos", "panic", "alarm", "help"];

    /// <summary>Action values that mean "nothing happened" (a release, the idle report of an emergency button, the empty action z2m sends after an action).</summary>
    private static readonly string[] IdleActions = ["", "off", "release", "none", "idle"];

    /// <summary>The properties a kind reads, in order of preference (the property-name vocabulary).</summary>
    public static IReadOnlyList<string> CandidateProperties(SensorKind kind) => kind switch
    {
        SensorKind.Door => ["contact"],
        SensorKind.Motion => ["occupancy", "motion", "presence", "pir"],
        SensorKind.Presence => ["presence", "occupancy", "presence_state", "human_presence"],
        SensorKind.Bed => ["pressure", "in_bed", "bed_occupancy", "occupancy", "presence", "pressure_state", "presence_state", "work_state"],
        SensorKind.Fall => ["fall", "fall_detected", "fall_alarm", "fall_down_status", "fall_status", "fall_state", "fall_detection", "fall_down"],
        SensorKind.Panic or SensorKind.PullCord => ["action", "sos", "emergency", "panic"],
        SensorKind.Epilepsy => ["epilepsy", "seizure", "alarm", "action", "sos"],
        SensorKind.CancelButton => ["action"],
        SensorKind.Smoke => ["smoke", "fire"],
        SensorKind.Water => ["water_leak", "leak"],
        SensorKind.CarbonMonoxide => ["carbon_monoxide", "co_alarm", "co_detected"],
        SensorKind.Gas => ["gas", "gas_leak", "gas_alarm", "gas_detected"],
        SensorKind.Vibration => ["vibration", "action"],
        SensorKind.Temperature => ["temperature", "local_temperature"],
        _ => [],
    };

    /// <summary>Reads a sensor of <paramref name="kind"/> from a state message of a device with <paramref name="exposes"/> (null when not learned yet).</summary>
    public static ZigbeeReading Read(SensorKind kind, JsonElement message, IReadOnlyDictionary<string, ZigbeeExpose>? exposes)
    {
        foreach (var property in PropertiesFor(kind, exposes))
        {
            if (!message.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            ZigbeeExpose? expose = exposes is not null && exposes.TryGetValue(property, out var x) ? x : null;
            if (kind == SensorKind.Temperature)
            {
                return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var t)
                    ? new ZigbeeReading(false, false, null, t)
                    : Wrong(property, value, "a number");
            }

            if (property == "action")
            {
                return ReadAction(kind, value, expose);
            }

            return value.ValueKind switch
            {
                not (JsonValueKind.True or JsonValueKind.False) when property == "contact" => Wrong(property, value, "true or false"),
                JsonValueKind.True or JsonValueKind.False => ReadBinary(property, value, expose),
                JsonValueKind.String when expose is { Type: "binary" } => ReadBinary(property, value, expose),
                JsonValueKind.String => ReadEnum(kind, property, value, expose),
                _ => Wrong(property, value, "true, false or a state name"),
            };
        }

        return default;
    }

    /// <summary>The state properties the device's exposes offer for <paramref name="kind"/>, best first (for docs and the sensors command).</summary>
    public static IReadOnlyList<string> PropertiesFor(SensorKind kind, IReadOnlyDictionary<string, ZigbeeExpose>? exposes)
    {
        var candidates = CandidateProperties(kind);
        if (exposes is null || exposes.Count == 0)
        {
            return candidates;
        }

        var readings = exposes.Values.Where(IsReading).ToList();
        var known = candidates.Where(c => exposes.TryGetValue(c, out var e) && IsReading(e) && Fits(kind, e)).ToList();

        // Exposes the names do not list: any state whose name speaks of the kind (fall radars name it in many ways)...
        if (kind == SensorKind.Fall)
        {
            known.AddRange(readings
                .Where(e => e.Property.Contains("fall", StringComparison.Ordinal) && e.Type is "binary" or "enum" && !known.Contains(e.Property))
                .Select(e => e.Property));
        }

        // ...then any enum state whose values, through the vocabulary, say what the kind detects (OWON's status: falling).
        known.AddRange(readings
            .Where(e => e.Type == "enum" && e.Property != "action" && !known.Contains(e.Property) && SpeaksOf(kind, e.Values))
            .Select(e => e.Property));

        return known.Count > 0 ? known : candidates;
    }

    /// <summary>A reading the device publishes (not a setting, not a diagnostic such as battery_low).</summary>
    private static bool IsReading(ZigbeeExpose e) =>
        (e.Access & 1) != 0 && (e.Access & 2) == 0 && e.Category is null or not ("config" or "diagnostic") || e.Property == "action";

    private static bool Fits(SensorKind kind, ZigbeeExpose e) => kind switch
    {
        SensorKind.Temperature => e.Type == "numeric",
        SensorKind.Vibration when e.Property == "action" => e.Values.Any(v => v.Contains("vibrat", StringComparison.OrdinalIgnoreCase)),
        SensorKind.Epilepsy when e.Property == "action" => true,
        _ => e.Type is "binary" or "enum",
    };

    private static bool SpeaksOf(SensorKind kind, IReadOnlyList<string> values)
    {
        var meanings = values.Select(ZigbeeVocabulary.Meaning).ToHashSet();
        return kind switch
        {
            SensorKind.Fall => meanings.Contains(ZigbeeStateMeaning.Fall),
            SensorKind.Presence or SensorKind.Bed or SensorKind.Motion => meanings.Contains(ZigbeeStateMeaning.Occupied) && meanings.Contains(ZigbeeStateMeaning.Vacant),
            _ => false,
        };
    }

    private static ZigbeeReading ReadBinary(string property, JsonElement value, ZigbeeExpose? expose)
    {
        if (expose?.ValueOn is { } on)
        {
            if (SameJson(value, on))
            {
                return new ZigbeeReading(true, false, null);
            }

            if (expose.ValueOff is { } off && !SameJson(value, off))
            {
                return Wrong(property, value, $"{on.GetRawText()} or {off.GetRawText()}");
            }

            return new ZigbeeReading(false, false, null);
        }

        // Without exposes: zigbee2mqtt's own conventions. contact true = closed (magnet present), so false = open = active.
        return value.ValueKind switch
        {
            JsonValueKind.True or JsonValueKind.False when property == "contact" => new ZigbeeReading(value.ValueKind == JsonValueKind.False, false, null),
            JsonValueKind.True or JsonValueKind.False => new ZigbeeReading(value.ValueKind == JsonValueKind.True, false, null),
            _ => value.GetString()!.ToUpperInvariant() switch
            {
                "ON" or "TRUE" or "ALARM" or "DETECTED" => new ZigbeeReading(true, false, null),
                "OFF" or "FALSE" or "NORMAL" or "CLEAR" => new ZigbeeReading(false, false, null),
                _ => Wrong(property, value, "true, false, ON or OFF"),
            },
        };
    }

    private static bool SameJson(JsonElement a, JsonElement b) => a.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => a.ValueKind == b.ValueKind,
        JsonValueKind.String => b.ValueKind == JsonValueKind.String && string.Equals(a.GetString(), b.GetString(), StringComparison.Ordinal),
        JsonValueKind.Number => b.ValueKind == JsonValueKind.Number && a.GetDouble() == b.GetDouble(),
        _ => false,
    };

    private static ZigbeeReading ReadEnum(SensorKind kind, string property, JsonElement value, ZigbeeExpose? expose)
    {
        var s = value.GetString()!;
        if (expose is { Type: "enum", Values.Count: > 0 } && !expose.Values.Contains(s, StringComparer.Ordinal))
        {
            return Wrong(property, value, $"one of {string.Join(", ", expose.Values)}");
        }

        var meaning = ZigbeeVocabulary.Meaning(s);
        bool? active = (kind, meaning) switch
        {
            (_, ZigbeeStateMeaning.Unknown) => null,
            (SensorKind.Fall, ZigbeeStateMeaning.Fall) => true,
            (SensorKind.Fall, _) => false,
            (SensorKind.Presence or SensorKind.Bed or SensorKind.Motion, ZigbeeStateMeaning.Vacant) => false,
            (SensorKind.Presence or SensorKind.Bed or SensorKind.Motion, _) => true, // a fall is somebody there too
            (_, ZigbeeStateMeaning.Vacant) => false,
            _ => true,
        };
        return new ZigbeeReading(active, false, null);
    }

    private static ZigbeeReading ReadAction(SensorKind kind, JsonElement value, ZigbeeExpose? expose)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            return Wrong("action", value, "a string");
        }

        var action = value.GetString()!;
        if (IdleActions.Contains(action, StringComparer.Ordinal))
        {
            return default;
        }

        if (kind == SensorKind.CancelButton)
        {
            return new ZigbeeReading(true, true, null);
        }

        if (kind == SensorKind.Vibration)
        {
            return action.Contains("vibrat", StringComparison.OrdinalIgnoreCase) ? new ZigbeeReading(true, true, null) : default;
        }

        if (IsEmergency(action))
        {
            return new ZigbeeReading(true, true, null);
        }

        // A plain button declared as a panic button, pull cord or epilepsy input (its actions name no emergency): any press is the call.
        var deviceHasEmergencyAction = expose is not null && expose.Values.Any(IsEmergency);
        return deviceHasEmergencyAction ? default : new ZigbeeReading(true, true, null);
    }

    private static bool IsEmergency(string action) =>
        EmergencyWords.Any(w => action.Contains(w, StringComparison.OrdinalIgnoreCase));

    private static ZigbeeReading Wrong(string property, JsonElement value, string expected) =>
        new(null, false, $"'{property}' is {Describe(value)}, expected {expected}");

    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
