using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace CareGateway.Sensors.Zigbee;

/// <summary>
/// Turns zigbee2mqtt's MQTT messages into normalized <see cref="SensorEvent"/>s. Hardware- and network-free: the MQTT
/// adapter (<see cref="Zigbee2MqttClient"/>) feeds it topic, payload and retain flag; tests feed it fixtures.
/// <list type="bullet">
/// <item>Learns each device from the retained <c>{base}/bridge/devices</c> (its exposes) and maps properties by kind.</item>
/// <item>Alarms come from transitions: zigbee2mqtt repeats cached keys in every message, so a repeated state is only "heard".</item>
/// <item>A retained message (the broker's snapshot at subscribe time, possibly stale) never fires and is no baseline; a
/// live message is current (zigbee2mqtt repeats the whole cached state), so the first live report of an alarm state fires.</item>
/// <item>Availability (plain <c>online</c>/<c>offline</c> or JSON <c>{"state":"online"}</c>) and <c>bridge/state</c> become
/// <see cref="SensorEventType.Offline"/>/<see cref="SensorEventType.Online"/> events: zigbee2mqtt down is a fault, not silence.</item>
/// <item>A device not in the configuration is reported once and ignored; a malformed message is rejected, counted and
/// logged with its topic, and the mapper carries on.</item>
/// </list>
/// Not thread-safe: call it from one thread at a time (the adapter serializes its message handler).
/// </summary>
public sealed class Zigbee2MqttMapper
{
    /// <summary>Largest device message accepted (zigbee2mqtt's are well under 4 KiB).</summary>
    public const int MaxDeviceMessageBytes = 64 * 1024;

    /// <summary>Largest <c>bridge/devices</c> accepted (it grows with the network: a few KiB per device).</summary>
    public const int MaxDeviceListBytes = 16 * 1024 * 1024;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 32 };

    private readonly string _prefix;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly List<Declared> _sensors;
    private readonly Dictionary<string, List<Declared>> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ZigbeeDevice> _devicesByName = new(StringComparer.Ordinal);
    private readonly HashSet<string> _undeclared = new(StringComparer.Ordinal);
    private bool? _bridgeOnline;
    private bool _brokerConnected = true;

    /// <summary>Why Zigbee sensors went offline: zigbee2mqtt's <c>bridge/state</c> said <c>offline</c>.</summary>
    public const string BridgeOffline = "zigbee2mqtt-offline";

    /// <summary>Why Zigbee sensors came back: zigbee2mqtt's <c>bridge/state</c> said <c>online</c>.</summary>
    public const string BridgeBackOnline = "zigbee2mqtt-online";

    /// <summary>Why Zigbee sensors went offline: the connection to the local broker is lost.</summary>
    public const string BrokerUnreachable = "local-broker-unreachable";

    /// <summary>Why Zigbee sensors came back: the connection to the local broker is back.</summary>
    public const string BrokerReachable = "local-broker-reachable";

    /// <summary>Why one Zigbee sensor went offline: its availability topic said <c>offline</c>.</summary>
    public const string DeviceUnavailable = "device-unavailable";

    /// <summary>Why one Zigbee sensor came back: its availability topic said <c>online</c>.</summary>
    public const string DeviceAvailable = "device-available";

    /// <summary>Why one Zigbee sensor went offline: zigbee2mqtt reported on <c>bridge/event</c> that its device left the network.</summary>
    public const string DeviceLeft = "device-leave";

    /// <summary>Why one Zigbee sensor came back after leaving: its device joined again, announced itself or was heard.</summary>
    public const string DeviceRejoined = "device-rejoined";

    public Zigbee2MqttMapper(string baseTopic, IEnumerable<SensorDefinition> sensors, TimeProvider time, ILogger log)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(baseTopic);
        ArgumentNullException.ThrowIfNull(sensors);
        _prefix = baseTopic.TrimEnd('/') + "/";
        BaseTopic = baseTopic.TrimEnd('/');
        _time = time;
        _log = log;
        _sensors = [.. sensors.Where(s => s.Zigbee is not null).Select(s => new Declared(s, s.Zigbee!.Device))];
        Reindex();
    }

    public string BaseTopic { get; }

    /// <summary>Messages rejected as malformed since start.</summary>
    public long Rejected { get; private set; }

    /// <summary>Devices that sent messages but are not declared in the configuration.</summary>
    public IReadOnlyCollection<string> UndeclaredDevices => _undeclared;

    /// <summary>What <c>bridge/state</c> said last; null before it said anything.</summary>
    public bool? BridgeOnline => _bridgeOnline;

    /// <summary>The devices learned from <c>bridge/devices</c>, by friendly name.</summary>
    public IReadOnlyDictionary<string, ZigbeeDevice> Devices => _devicesByName;

    /// <summary>The declared Zigbee sensors.</summary>
    public IEnumerable<SensorDefinition> Sensors => _sensors.Select(s => s.Definition);

    /// <summary>Handles one MQTT message; returns the events it produces (possibly none). Never throws for bad input.</summary>
    public IReadOnlyList<SensorEvent> Handle(string topic, ReadOnlySpan<byte> payload, bool retained)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!topic.StartsWith(_prefix, StringComparison.Ordinal))
        {
            return [];
        }

        var rest = topic[_prefix.Length..];
        try
        {
            if (rest == "bridge/state")
            {
                return OnBridgeState(topic, payload);
            }

            if (rest == "bridge/devices")
            {
                return OnDeviceList(topic, payload);
            }

            if (rest == "bridge/event")
            {
                return OnBridgeEvent(topic, payload);
            }

            if (rest.StartsWith("bridge/", StringComparison.Ordinal))
            {
                return []; // logging, info, responses: not sensor data
            }

            if (rest.EndsWith("/availability", StringComparison.Ordinal))
            {
                return OnAvailability(topic, rest[..^"/availability".Length], payload);
            }

            if (rest.EndsWith("/set", StringComparison.Ordinal) || rest.EndsWith("/get", StringComparison.Ordinal) || rest.Contains("/set/", StringComparison.Ordinal))
            {
                return []; // commands to devices, ours or someone else's
            }

            return OnDeviceState(topic, rest, payload, retained);
        }
#pragma warning disable CA1031 // the mapper's promise is that no message can stop the gateway; the message is counted and logged
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Reject(topic, $"unexpected {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>The connection to the local broker is lost: every Zigbee sensor is unheard until it is back.</summary>
    public IReadOnlyList<SensorEvent> OnConnectionLost() => ChangeLinks(() => _brokerConnected = false, BrokerUnreachable);

    /// <summary>The connection to the local broker is back (bridge/state and availability follow as retained messages).</summary>
    public IReadOnlyList<SensorEvent> OnConnected() => ChangeLinks(() => _brokerConnected = true, BrokerReachable);

    private List<SensorEvent> OnBridgeState(string topic, ReadOnlySpan<byte> payload)
    {
        if (!TryParseOnline(payload, out var online))
        {
            return Reject(topic, "bridge/state is neither 'online'/'offline' nor {\"state\":\"online\"|\"offline\"}");
        }

        if (_bridgeOnline == false && online)
        {
            _log.LogInformation("zigbee2mqtt is online again ({Topic})", topic);
        }
        else if (!online && _bridgeOnline != false)
        {
            _log.LogWarning("zigbee2mqtt reports itself offline ({Topic}): Zigbee sensors cannot be heard", topic);
        }

        return ChangeLinks(() => _bridgeOnline = online, online ? BridgeBackOnline : BridgeOffline);
    }

    /// <summary>
    /// <c>bridge/event</c>: a <c>device_leave</c> makes the sensors of that device offline (once, until it is back);
    /// <c>device_joined</c> or <c>device_announce</c> of a device that left brings them back. Other events are ignored.
    /// </summary>
    private List<SensorEvent> OnBridgeEvent(string topic, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxDeviceMessageBytes)
        {
            return Reject(topic, $"{payload.Length} bytes is over the limit of {MaxDeviceMessageBytes}");
        }

        if (!TryParseJson(payload, out var doc, out var error))
        {
            return Reject(topic, error);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return Reject(topic, "a bridge event must be a JSON object with a string 'type'");
            }

            var kind = type.GetString();
            if (kind is not ("device_leave" or "device_joined" or "device_announce"))
            {
                return []; // interviews and the like: nothing for the rules
            }

            string? ieee = null;
            string? name = null;
            if (root.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object)
            {
                ieee = data.TryGetProperty("ieee_address", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                name = data.TryGetProperty("friendly_name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            }

            if (ieee is null && name is null)
            {
                return Reject(topic, $"a {kind} event must name its device (data.ieee_address or data.friendly_name)");
            }

            var sensors = _sensors.Where(s => Names(s, ieee, name)).ToList();
            if (sensors.Count == 0)
            {
                return [];
            }

            if (kind == "device_leave")
            {
                if (sensors.Any(s => !s.Left))
                {
                    _log.LogWarning("Zigbee device '{Device}' left the network (device_leave): sensor {Sensors} cannot be heard until it joins again", name ?? ieee, string.Join(", ", sensors.Select(s => s.Definition.Id)));
                }

                return ChangeLinks(() => sensors.ForEach(s => s.Left = true), DeviceLeft);
            }

            return ChangeLinks(() => sensors.ForEach(s => s.Left = false), DeviceRejoined);
        }
    }

    private static bool Names(Declared sensor, string? ieee, string? name) =>
        (ieee is not null && (string.Equals(sensor.Device?.IeeeAddress, ieee, StringComparison.OrdinalIgnoreCase) || string.Equals(sensor.DeclaredAs, ieee, StringComparison.OrdinalIgnoreCase)))
        || (name is not null && (string.Equals(sensor.Device?.FriendlyName, name, StringComparison.Ordinal) || string.Equals(sensor.DeclaredAs, name, StringComparison.Ordinal)));

    private List<SensorEvent> OnDeviceList(string topic, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxDeviceListBytes)
        {
            return Reject(topic, $"{payload.Length} bytes is over the limit of {MaxDeviceListBytes}");
        }

        if (!TryParseJson(payload, out var doc, out var error))
        {
            return Reject(topic, error);
        }

        using (doc)
        {
            if (!ZigbeeDeviceCatalog.TryParse(doc.RootElement, out var devices, out error))
            {
                return Reject(topic, error);
            }

            _devicesByName.Clear();
            foreach (var device in devices)
            {
                _devicesByName[device.FriendlyName] = device;
            }

            Reindex();
            foreach (var sensor in _sensors.Where(s => s.Device is null))
            {
                _log.LogWarning("Zigbee sensor {SensorId}: device '{Device}' is not paired to zigbee2mqtt (not in bridge/devices)", sensor.Definition.Id, sensor.DeclaredAs);
            }

            return [];
        }
    }

    private List<SensorEvent> OnAvailability(string topic, string name, ReadOnlySpan<byte> payload)
    {
        if (!_byName.TryGetValue(name, out var sensors))
        {
            return [];
        }

        if (!TryParseOnline(payload, out var online))
        {
            return Reject(topic, "availability is neither 'online'/'offline' nor {\"state\":\"online\"|\"offline\"}");
        }

        return ChangeLinks(() => sensors.ForEach(s => s.Available = online), online ? DeviceAvailable : DeviceUnavailable);
    }

    private List<SensorEvent> OnDeviceState(string topic, string name, ReadOnlySpan<byte> payload, bool retained)
    {
        if (!_byName.TryGetValue(name, out var sensors))
        {
            if (_undeclared.Add(name))
            {
                _log.LogInformation("zigbee2mqtt device '{Device}' is not declared in the configuration; its messages are ignored", name);
            }

            return [];
        }

        if (payload.Length > MaxDeviceMessageBytes)
        {
            return Reject(topic, $"{payload.Length} bytes is over the limit of {MaxDeviceMessageBytes}");
        }

        if (!TryParseJson(payload, out var doc, out var error))
        {
            return Reject(topic, error);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Reject(topic, $"a device message must be a JSON object, not {ZigbeePropertyMap.Describe(root)}");
            }

            if (!TryReadHealth(root, out var health, out error))
            {
                return Reject(topic, error);
            }

            var readings = new List<(Declared Sensor, ZigbeeReading Reading)>();
            foreach (var sensor in sensors)
            {
                var reading = ZigbeePropertyMap.Read(sensor.Definition.Kind, root, sensor.Device?.Exposes);
                if (reading.Error is { } e)
                {
                    return Reject(topic, e);
                }

                readings.Add((sensor, reading));
            }

            var at = ReadTime(root);
            var events = new List<SensorEvent>();
            if (!retained && sensors.Any(s => s.Left))
            {
                // Heard live again after a device_leave: it rejoined (the join event may have been missed).
                events.AddRange(ChangeLinks(() => sensors.ForEach(s => s.Left = false), DeviceRejoined));
            }

            foreach (var (sensor, reading) in readings)
            {
                Apply(sensor, reading, health, at, retained, events);
            }

            return events;
        }
    }

    private static void Apply(Declared sensor, ZigbeeReading reading, SensorHealth health, DateTimeOffset at, bool retained, List<SensorEvent> events)
    {
        var d = sensor.Definition;
        SensorEvent Make(bool active, SensorEventType type) => new(d.Id, d.Kind, d.Room, active, at, health, type, Value: reading.Value ?? sensor.Value);

        if (reading.Value is { } value && !retained)
        {
            // A measurement (temperature): a new value is a new state, the same value is only heard.
            var changed = sensor.Value != value;
            sensor.Value = value;
            sensor.State = false;
            events.Add(Make(false, changed ? SensorEventType.State : SensorEventType.Heard));
            return;
        }

        if (reading.Active is not { } active || retained)
        {
            // No state in this message, or a retained one: the broker's snapshot at subscribe time, possibly long stale
            // (live messages reach a subscriber without the retain flag; those queued in our session come first). It
            // never fires and never becomes the baseline, so that the next live report of an alarm state still fires.
            events.Add(Make(sensor.State ?? false, SensorEventType.Heard));
            return;
        }

        if (reading.IsEvent)
        {
            // A press is a momentary event: active, then inactive, so the next press is a new transition.
            events.Add(Make(true, SensorEventType.State));
            events.Add(Make(false, SensorEventType.State));
            sensor.State = false;
            return;
        }

        if (sensor.State == active)
        {
            events.Add(Make(active, SensorEventType.Heard));
            return;
        }

        sensor.State = active;
        events.Add(Make(active, SensorEventType.State));
    }

    private List<SensorEvent> ChangeLinks(Action change, string reason)
    {
        var before = _sensors.Select(IsLinked).ToList();
        change();
        var now = _time.GetUtcNow();
        var events = new List<SensorEvent>();
        for (var i = 0; i < _sensors.Count; i++)
        {
            var linked = IsLinked(_sensors[i]);
            if (linked != before[i])
            {
                var d = _sensors[i].Definition;
                events.Add(new SensorEvent(d.Id, d.Kind, d.Room, _sensors[i].State ?? false, now, null, linked ? SensorEventType.Online : SensorEventType.Offline, reason));
            }
        }

        return events;
    }

    private bool IsLinked(Declared sensor) => _brokerConnected && _bridgeOnline != false && sensor.Available != false && !sensor.Left;

    private List<SensorEvent> Reject(string topic, string error)
    {
        Rejected++;
        _log.LogWarning("Rejected zigbee2mqtt message on {Topic}: {Error} (rejected so far: {Rejected})", topic, error, Rejected);
        return [];
    }

    private void Reindex()
    {
        _byName.Clear();
        var byIeee = _devicesByName.Values.ToDictionary(d => d.IeeeAddress, StringComparer.OrdinalIgnoreCase);
        foreach (var sensor in _sensors)
        {
            // Declared by friendly name or by IEEE address; zigbee2mqtt publishes under the friendly name.
            sensor.Device = _devicesByName.GetValueOrDefault(sensor.DeclaredAs) ?? byIeee.GetValueOrDefault(sensor.DeclaredAs);
            var name = sensor.Device?.FriendlyName ?? sensor.DeclaredAs;
            if (!_byName.TryGetValue(name, out var list))
            {
                _byName[name] = list = [];
            }

            list.Add(sensor);
        }
    }

    private DateTimeOffset ReadTime(JsonElement root)
    {
        // With advanced.last_seen set, zigbee2mqtt says when it heard the device: messages queued at the broker keep their time.
        var now = _time.GetUtcNow();
        if (root.TryGetProperty("last_seen", out var seen))
        {
            DateTimeOffset? at = seen.ValueKind switch
            {
                JsonValueKind.String when DateTimeOffset.TryParse(seen.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) => t.ToUniversalTime(),
                JsonValueKind.Number when seen.TryGetInt64(out var ms) && ms is > 0 and < 253_402_300_799_999 => DateTimeOffset.FromUnixTimeMilliseconds(ms),
                _ => null,
            };

            // Never in the future, never more than a day old (a wrong clock on the z2m host must not bend the rules).
            if (at is { } a && a <= now && now - a < TimeSpan.FromDays(1))
            {
                return a;
            }
        }

        return now;
    }

    private static bool TryReadHealth(JsonElement root, out SensorHealth health, out string error)
    {
        health = new SensorHealth();
        error = string.Empty;
        int? battery = null;
        bool? low = null;
        bool? tamper = null;
        int? lqi = null;
        if (root.TryGetProperty("battery", out var b) && b.ValueKind != JsonValueKind.Null)
        {
            if (b.ValueKind != JsonValueKind.Number || !b.TryGetDouble(out var pct) || pct is < 0 or > 100)
            {
                error = "'battery' must be a number 0-100";
                return false;
            }

            battery = (int)Math.Round(pct);
        }

        if (root.TryGetProperty("battery_low", out var l) && l.ValueKind != JsonValueKind.Null)
        {
            if (l.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                error = "'battery_low' must be true or false";
                return false;
            }

            low = l.ValueKind == JsonValueKind.True;
        }

        if (root.TryGetProperty("tamper", out var t) && t.ValueKind != JsonValueKind.Null)
        {
            if (t.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                error = "'tamper' must be true or false";
                return false;
            }

            tamper = t.ValueKind == JsonValueKind.True;
        }

        if (root.TryGetProperty("linkquality", out var q) && q.ValueKind != JsonValueKind.Null)
        {
            if (q.ValueKind != JsonValueKind.Number || !q.TryGetInt32(out var lq) || lq is < 0 or > 255)
            {
                error = "'linkquality' must be an integer 0-255";
                return false;
            }

            lqi = lq;
        }

        health = new SensorHealth { BatteryPercent = battery, BatteryLow = low, Tamper = tamper, LinkQuality = lqi };
        return true;
    }

    private static bool TryParseOnline(ReadOnlySpan<byte> payload, out bool online)
    {
        online = false;
        if (payload.Length > 1024)
        {
            return false;
        }

        var text = System.Text.Encoding.UTF8.GetString(payload).Trim();
        if (text is "online" or "offline")
        {
            online = text == "online";
            return true;
        }

        try
        {
            using var doc = JsonDocument.Parse(text, JsonOptions);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("state", out var state)
                && state.ValueKind == JsonValueKind.String
                && state.GetString() is "online" or "offline")
            {
                online = state.GetString() == "online";
                return true;
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    private static bool TryParseJson(ReadOnlySpan<byte> payload, out JsonDocument doc, out string error)
    {
        doc = null!;
        error = string.Empty;
        try
        {
            doc = JsonDocument.Parse(payload.ToArray(), JsonOptions);
            return true;
        }
        catch (JsonException ex)
        {
            error = $"not JSON: {ex.Message}";
            return false;
        }
        catch (ArgumentException ex)
        {
            error = $"not UTF-8 JSON: {ex.Message}";
            return false;
        }
    }

    private sealed class Declared(SensorDefinition definition, string declaredAs)
    {
        public SensorDefinition Definition { get; } = definition;

        public string DeclaredAs { get; } = declaredAs;

        public ZigbeeDevice? Device { get; set; }

        /// <summary>Last known state; null until first heard.</summary>
        public bool? State { get; set; }

        /// <summary>Last measured value (temperature); null until first measured.</summary>
        public double? Value { get; set; }

        /// <summary>Per-device availability; null until zigbee2mqtt said anything.</summary>
        public bool? Available { get; set; }

        /// <summary>zigbee2mqtt reported that the device left the network (<c>device_leave</c>); cleared when it is back.</summary>
        public bool Left { get; set; }
    }
}
