using System.Text.Json;

namespace CareGateway.Sensors.Zigbee;

/// <summary>One property a zigbee2mqtt device exposes (from <c>definition.exposes</c>, features flattened).</summary>
/// <param name="Property">The key in the device's state messages.</param>
/// <param name="Type">binary, numeric, enum, text...</param>
/// <param name="ValueOn">For binary: the value that means "on".</param>
/// <param name="Values">For enum: the values.</param>
/// <param name="ValueOff">For binary: the value that means "off".</param>
/// <param name="Name">The expose's name (usually the property without an endpoint suffix).</param>
/// <param name="Access">zigbee2mqtt's access bits: 1 = published in state messages, 2 = settable, 4 = gettable.</param>
/// <param name="Category">"config" or "diagnostic" for settings and health fields; null for the device's own readings.</param>
/// <param name="Description">The converter's description of the property.</param>
/// <param name="Unit">For numeric: the unit (for example °C).</param>
public sealed record ZigbeeExpose(
    string Property,
    string Type,
    JsonElement? ValueOn,
    IReadOnlyList<string> Values,
    JsonElement? ValueOff = null,
    string? Name = null,
    int Access = 1,
    string? Category = null,
    string? Description = null,
    string? Unit = null)
{
    /// <summary>The device publishes it in its state messages (access bit 1), as a reading and not a setting.</summary>
    public bool IsStateReading => (Access & 1) != 0 && Category != "config";
}

/// <summary>A device as <c>bridge/devices</c> describes it.</summary>
public sealed record ZigbeeDevice(string IeeeAddress, string FriendlyName, string? Vendor, string? Model, IReadOnlyDictionary<string, ZigbeeExpose> Exposes);

/// <summary>Parses the retained <c>{base}/bridge/devices</c> message: the devices and what each can report.</summary>
public static class ZigbeeDeviceCatalog
{
    /// <summary>Parses the device list; false (with an error) when it is not the array zigbee2mqtt publishes.</summary>
    public static bool TryParse(JsonElement root, out List<ZigbeeDevice> devices, out string error)
    {
        devices = [];
        error = string.Empty;
        if (root.ValueKind != JsonValueKind.Array)
        {
            error = "bridge/devices is not a JSON array";
            return false;
        }

        foreach (var item in root.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object
                || !TryString(item, "ieee_address", out var ieee)
                || !TryString(item, "friendly_name", out var name))
            {
                // The coordinator and half-interviewed devices may lack fields; skip what cannot be used.
                continue;
            }

            string? vendor = null;
            string? model = null;
            var exposes = new Dictionary<string, ZigbeeExpose>(StringComparer.Ordinal);
            if (item.TryGetProperty("definition", out var definition) && definition.ValueKind == JsonValueKind.Object)
            {
                vendor = TryString(definition, "vendor", out var v) ? v : null;
                model = TryString(definition, "model", out var m) ? m : null;
                if (definition.TryGetProperty("exposes", out var list) && list.ValueKind == JsonValueKind.Array)
                {
                    Flatten(list, exposes, depth: 0);
                }
            }

            devices.Add(new ZigbeeDevice(ieee, name, vendor, model, exposes));
        }

        return true;
    }

    private static void Flatten(JsonElement list, Dictionary<string, ZigbeeExpose> into, int depth)
    {
        if (depth > 4)
        {
            return;
        }

        foreach (var expose in list.EnumerateArray())
        {
            if (expose.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            // Composite and specific exposes (switch, light, lock...) nest their properties under "features".
            if (expose.TryGetProperty("features", out var features) && features.ValueKind == JsonValueKind.Array)
            {
                Flatten(features, into, depth + 1);
                continue;
            }

            if (!TryString(expose, "property", out var property) || !TryString(expose, "type", out var type))
            {
                continue;
            }

            JsonElement? valueOn = expose.TryGetProperty("value_on", out var on) ? on.Clone() : null;
            JsonElement? valueOff = expose.TryGetProperty("value_off", out var off) ? off.Clone() : null;
            var access = expose.TryGetProperty("access", out var a) && a.ValueKind == JsonValueKind.Number && a.TryGetInt32(out var ai) ? ai : 1;
            var values = new List<string>();
            if (expose.TryGetProperty("values", out var vs) && vs.ValueKind == JsonValueKind.Array)
            {
                values.AddRange(vs.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!));
            }

            into.TryAdd(property, new ZigbeeExpose(
                property,
                type,
                valueOn,
                values,
                valueOff,
                TryString(expose, "name", out var n) ? n : property,
                access,
                TryString(expose, "category", out var c) ? c : null,
                TryString(expose, "description", out var d) ? d : null,
                TryString(expose, "unit", out var u) ? u : null));
        }
    }

    private static bool TryString(JsonElement obj, string name, out string value)
    {
        value = string.Empty;
        if (obj.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String && p.GetString() is { Length: > 0 } s)
        {
            value = s;
            return true;
        }

        return false;
    }
}
