using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Sensors;

namespace CareGateway;

/// <summary>
/// Reads a timestamped <c>mosquitto_sub -v</c> log of zigbee2mqtt messages for replay
/// (<c>mosquitto_sub -v -F '%I %t %p' -t 'zigbee2mqtt/#'</c>: ISO time, topic, payload). The device's friendly name is
/// the sensor id. A minimal reading of the common keys, for replay only: <c>contact</c> (false = open), <c>occupancy</c>,
/// <c>presence</c>, <c>water_leak</c>, <c>smoke</c>, <c>fall</c>, <c>action</c> (a press), <c>battery</c>,
/// <c>battery_low</c>, <c>tamper</c>, and <c>/availability</c>. Like the gateway, it turns repeated cached values into
/// nothing new: the rules act on transitions only.
/// </summary>
internal sealed class Zigbee2MqttLog(Dictionary<string, SensorDefinition> sensors)
{
    private const string Prefix = "zigbee2mqtt/";
    private readonly Dictionary<string, bool> _last = new(StringComparer.Ordinal);

    public IReadOnlyList<ReplayInput> Read(string line, int lineNo)
    {
        var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3 || !DateTimeOffset.TryParse(parts[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            throw new ReplayFormatException("expected a normalized JSON event or 'TIME TOPIC PAYLOAD' (mosquitto_sub -v -F '%I %t %p')");
        }

        var topic = parts[1];
        if (!topic.StartsWith(Prefix, StringComparison.Ordinal) || topic.StartsWith(Prefix + "bridge/", StringComparison.Ordinal))
        {
            return [];
        }

        var name = topic[Prefix.Length..];
        var availability = name.EndsWith("/availability", StringComparison.Ordinal);
        if (availability)
        {
            name = name[..^"/availability".Length];
        }

        if (!sensors.TryGetValue(name, out var sensor))
        {
            return []; // a device the profile does not use
        }

        var payload = parts[2].Trim();
        if (availability)
        {
            var state = payload.StartsWith('{') ? JsonNode.Parse(payload)?["state"]?.GetValue<string>() : payload;
            var offline = state == "offline";
            return [Input(sensor, _last.GetValueOrDefault(sensor.Id), at, new SensorHealth { Offline = offline }, lineNo)];
        }

        if (JsonNode.Parse(payload) is not JsonObject o)
        {
            throw new ReplayFormatException($"the payload for {name} is not a JSON object");
        }

        var health = Health(o);
        if (sensor.Kind is SensorKind.Panic or SensorKind.CancelButton or SensorKind.AwayButton or SensorKind.VisitorButton)
        {
            var action = o["action"]?.GetValue<string>();
            return string.IsNullOrEmpty(action)
                ? health is null ? [] : [Input(sensor, false, at, health, lineNo)]
                : [Input(sensor, true, at, health, lineNo), Input(sensor, false, at, null, lineNo)];
        }

        var active = sensor.Kind switch
        {
            SensorKind.Door => Bool(o, "contact") is { } contact ? !contact : null,
            SensorKind.Motion => Bool(o, "occupancy"),
            SensorKind.Presence or SensorKind.Bed => Bool(o, "presence") ?? Bool(o, "occupancy"),
            SensorKind.Water => Bool(o, "water_leak"),
            SensorKind.Smoke => Bool(o, "smoke"),
            SensorKind.Fall => Bool(o, "fall"),
            _ => null,
        };
        if (active is null && health is null)
        {
            return [];
        }

        var value = active ?? _last.GetValueOrDefault(sensor.Id);
        _last[sensor.Id] = value;
        return [Input(sensor, value, at, health, lineNo)];
    }

    private static ReplayInput Input(SensorDefinition s, bool active, DateTimeOffset at, SensorHealth? health, int lineNo) =>
        new(at, new SensorEvent(s.Id, s.Kind, s.Room, active, at, health), null, lineNo);

    private static SensorHealth? Health(JsonObject o)
    {
        var battery = o["battery"] is JsonValue b && b.TryGetValue<double>(out var pct) ? (int?)Math.Round(pct) : null;
        var low = Bool(o, "battery_low");
        var tamper = Bool(o, "tamper");
        return battery is null && low is null && tamper is null ? null : new SensorHealth { BatteryPercent = battery, BatteryLow = low, Tamper = tamper };
    }

    private static bool? Bool(JsonObject o, string key) =>
        o[key] is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? v.GetValue<bool>() : null;
}
