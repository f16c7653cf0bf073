using System.Text.Json;

namespace CareGateway.Sensors.Zigbee;

/// <summary>What one zigbee2mqtt state message says about one sensor.</summary>
/// <param name="Active">The state it reports; null when the message does not carry the sensor's property.</param>
/// <param name="IsEvent">True for momentary events (an <c>action</c> such as <c>emergency</c>): active, then at once inactive.</param>
/// <param name="Error">Set when the property is present with a value of the wrong type.</param>
public readonly record struct ZigbeeReading(bool? Active, bool IsEvent, string? Error);

/// <summary>
/// Maps zigbee2mqtt properties to sensor states by kind, generically (never per model): the device's exposes, when known,
/// say which property it has; the value's meaning comes from the property's name and type. docs/sensors.md lists the map.
/// </summary>
public static class ZigbeePropertyMap
{
    /// <summary>Action values that are a call for help.</summary>
    private static readonly string[] EmergencyWords = ["emergency", "sos", "panic", "alarm", "help"];

    /// <summary>Action values that mean "nothing happened" (a release, the idle report of an emergency button, the empty action z2m sends after an action).</summary>
    private static readonly string[] IdleActions = ["", "off", "release", "none", "idle"];

    /// <summary>Enum values that mean "nobody there" / "no fall".</summary>
    private static readonly string[] NegativeWords = ["none", "no", "normal", "clear", "unoccupied", "absent", "not", "no_fall", "no_presence", "nobody", "idle", "unknown"];

    private static readonly string[] FallPropertyFallbacks = ["fall", "fall_down_status", "fall_detection", "fall_state", "fall_status", "fall_down"];

    /// <summary>The properties a kind reads, in order of preference.</summary>
    public static IReadOnlyList<string> CandidateProperties(SensorKind kind) => kind switch
    {
        SensorKind.Door => ["contact"],
        SensorKind.Motion => ["occupancy", "presence", "motion"],
        SensorKind.Presence => ["presence", "occupancy", "presence_state"],
        SensorKind.Bed => ["occupancy", "presence", "presence_state"],
        SensorKind.Fall => FallPropertyFallbacks,
        SensorKind.Panic => ["action", "sos", "emergency"],
        SensorKind.CancelButton => ["action"],
        SensorKind.Smoke => ["smoke"],
        SensorKind.Water => ["water_leak"],
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
            return property switch
            {
                "action" => ReadAction(kind, value, expose),
                "contact" => value.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? new ZigbeeReading(value.ValueKind == JsonValueKind.False, false, null) // contact false = open = active
                    : Wrong(property, value, "true or false"),
                _ => ReadLevel(property, value, expose),
            };
        }

        return default;
    }

    private static IEnumerable<string> PropertiesFor(SensorKind kind, IReadOnlyDictionary<string, ZigbeeExpose>? exposes)
    {
        var candidates = CandidateProperties(kind);
        if (exposes is null || exposes.Count == 0)
        {
            return candidates;
        }

        var known = candidates.Where(exposes.ContainsKey).ToList();
        if (kind == SensorKind.Fall)
        {
            // Fall radars name their property in many ways: any state binary or enum whose name speaks of a fall.
            known.AddRange(exposes.Values
                .Where(e => e.Property.Contains("fall", StringComparison.Ordinal)
                    && e.Type is "binary" or "enum"
                    && !e.Property.Contains("sensitivity", StringComparison.Ordinal)
                    && !e.Property.Contains("time", StringComparison.Ordinal)
                    && !e.Property.Contains("switch", StringComparison.Ordinal)
                    && !known.Contains(e.Property))
                .Select(e => e.Property));
        }

        return known.Count > 0 ? known : candidates;
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

        if (IsEmergency(action))
        {
            return new ZigbeeReading(true, true, null);
        }

        // A plain button declared as a panic button (its actions name no emergency): any press is a call for help.
        var deviceHasEmergencyAction = expose is not null && expose.Values.Any(IsEmergency);
        return deviceHasEmergencyAction ? default : new ZigbeeReading(true, true, null);
    }

    private static bool IsEmergency(string action) =>
        EmergencyWords.Any(w => action.Contains(w, StringComparison.OrdinalIgnoreCase));

    private static ZigbeeReading ReadLevel(string property, JsonElement value, ZigbeeExpose? expose)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.True:
            case JsonValueKind.False:
                var b = value.ValueKind == JsonValueKind.True;
                if (expose?.ValueOn is { ValueKind: JsonValueKind.True or JsonValueKind.False } on)
                {
                    return new ZigbeeReading(b == (on.ValueKind == JsonValueKind.True), false, null);
                }

                return new ZigbeeReading(b, false, null);
            case JsonValueKind.String:
                var s = value.GetString()!;
                if (expose?.ValueOn is { ValueKind: JsonValueKind.String } onText)
                {
                    return new ZigbeeReading(string.Equals(s, onText.GetString(), StringComparison.Ordinal), false, null);
                }

                if (expose is { Type: "enum", Values.Count: > 0 } && !expose.Values.Contains(s, StringComparer.Ordinal))
                {
                    return Wrong(property, value, $"one of {string.Join(", ", expose.Values)}");
                }

                return new ZigbeeReading(IsPositive(s), false, null);
            default:
                return Wrong(property, value, "true, false or a state name");
        }
    }

    /// <summary>An enum state means active unless it names an absence: "fall" and "maybe_fall" are active (a possible fall is called in), "none" is not.</summary>
    private static bool IsPositive(string value)
    {
        var v = value.Trim().ToLowerInvariant();
        if (v.Length == 0 || NegativeWords.Contains(v, StringComparer.Ordinal))
        {
            return false;
        }

        return !v.StartsWith("no_", StringComparison.Ordinal) && !v.StartsWith("not_", StringComparison.Ordinal);
    }

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
