using System.Globalization;
using CareGateway.Hardware;
using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Sensors.Zigbee;

namespace CareGateway;

/// <summary>
/// Validates the sensors, the board and its outputs, and the Zigbee section against the board profile: every problem is
/// reported with its JSON path, the sensor and the pin (for example
/// <c>$.sensors[2].gpio.headerPin: sensor 'panic-1' uses header pin 3 (GPIO 2), reserved for I2C SDA</c>).
/// </summary>
public static class SensorConfigValidation
{
    private static readonly string[] KnownBuses = ["i2c", "uart", "spi", "id-eeprom"];

    public static void Validate(GatewayConfig config, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(errors);
        var board = config.Board;
        var model = board.EffectiveModel();
        if (model == BoardModel.Simulated && board.Driver != BoardDriver.Simulated)
        {
            errors.Add("$.board.model: 'simulated' needs \"driver\": \"simulated\"");
        }

        if (board.Chip is < 0)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"$.board.chip: {board.Chip} is not a gpiochip number"));
        }

        var freeBuses = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < board.FreeBuses.Count; i++)
        {
            var bus = board.FreeBuses[i];
            if (!KnownBuses.Contains(bus, StringComparer.Ordinal))
            {
                errors.Add($"$.board.freeBuses[{i}]: '{bus}' is not a bus; use {string.Join(", ", KnownBuses)}");
            }
            else
            {
                freeBuses.Add(bus);
            }
        }

        var lines = new Dictionary<int, string>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var zigbee = new Dictionary<(string Device, SensorKind Kind), string>();
        for (var i = 0; i < config.Sensors.Count; i++)
        {
            ValidateSensor(config.Sensors[i], $"$.sensors[{i}]", i, ids, lines, zigbee, freeBuses, errors);
        }

        if (board.Buzzer is { } buzzer)
        {
            ValidatePin(buzzer.Line, buzzer.HeaderPin, "$.board.buzzer", "the buzzer", lines, freeBuses, errors);
        }

        var ledNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < board.Leds.Count; i++)
        {
            var led = board.Leds[i];
            var at = $"$.board.leds[{i}]";
            if (string.IsNullOrWhiteSpace(led.Name))
            {
                errors.Add($"{at}.name: an LED needs a name (for example 'red')");
            }
            else if (!ledNames.Add(led.Name))
            {
                errors.Add($"{at}.name: LED '{led.Name}' is declared twice");
            }

            ValidatePin(led.Line, led.HeaderPin, at, $"LED '{led.Name}'", lines, freeBuses, errors);
        }

        if (zigbee.Count > 0 && config.Zigbee is null)
        {
            errors.Add("$.zigbee: Zigbee sensors are declared but there is no 'zigbee' section naming the local broker");
        }

        if (config.Zigbee is { } z)
        {
            if (string.IsNullOrWhiteSpace(z.Broker.Host))
            {
                errors.Add("$.zigbee.broker.host: must name the local broker zigbee2mqtt publishes to");
            }

            if (z.Broker.Port is < 1 or > 65535)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"$.zigbee.broker.port: {z.Broker.Port} is not a TCP port"));
            }

            if (string.IsNullOrWhiteSpace(z.BaseTopic) || z.BaseTopic.IndexOfAny(['#', '+']) >= 0 || z.BaseTopic.StartsWith('/') || z.BaseTopic.EndsWith('/'))
            {
                errors.Add($"$.zigbee.baseTopic: '{z.BaseTopic}' is not a topic prefix (zigbee2mqtt's mqtt.base_topic, no wildcards)");
            }
        }
    }

    /// <summary>The GPIO line a validated input or output uses: its line, or its header pin translated.</summary>
    public static int? ResolveLine(int? line, int? headerPin) => line ?? (headerPin is { } p ? BoardProfile.Pin(p)?.Line : null);

    private static void ValidateSensor(
        SensorDefinition? s,
        string at,
        int index,
        Dictionary<string, int> ids,
        Dictionary<int, string> lines,
        Dictionary<(string, SensorKind), string> zigbee,
        HashSet<string> freeBuses,
        List<string> errors)
    {
        if (s is null)
        {
            errors.Add($"{at}: must be a sensor object");
            return;
        }

        if (!GatewayId.IsValid(s.Id))
        {
            errors.Add($"{at}.id: '{s.Id}' is not valid: use 1-64 characters of a-z, 0-9 and '-'");
        }
        else if (!ids.TryAdd(s.Id, index))
        {
            errors.Add($"{at}.id: '{s.Id}' is already used by $.sensors[{ids[s.Id]}]");
        }

        if (string.IsNullOrWhiteSpace(s.Room))
        {
            errors.Add($"{at}.room: sensor '{s.Id}' needs a room label");
        }

        if (s.OuterDoor && s.Kind != SensorKind.Door)
        {
            errors.Add($"{at}.outerDoor: only a door sensor can be the outer door (sensor '{s.Id}' is {s.Kind})");
        }

        if (!s.CountsAsResident && s.Kind is not (SensorKind.Motion or SensorKind.Presence))
        {
            errors.Add($"{at}.countsAsResident: only a motion or presence sensor can be marked as also seeing others (sensor '{s.Id}' is {SensorKinds.Name(s.Kind)})");
        }

        if (s.SupervisionMinutes is < 1 or > 7 * 24 * 60)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.supervisionMinutes: sensor '{s.Id}' has {s.SupervisionMinutes}; use 1 to 10080 (a week)"));
        }

        if (s.Gpio is null && s.Zigbee is null)
        {
            errors.Add($"{at}: sensor '{s.Id}' has no source: add a 'gpio' or a 'zigbee' section");
            return;
        }

        if (s.Gpio is not null && s.Zigbee is not null)
        {
            errors.Add($"{at}: sensor '{s.Id}' has both a 'gpio' and a 'zigbee' section; a sensor has one source");
        }

        if (s.Gpio is { } gpio)
        {
            ValidatePin(gpio.Line, gpio.HeaderPin, $"{at}.gpio", $"sensor '{s.Id}'", lines, freeBuses, errors);
            if (gpio.DebounceMs is < 0 or > 10_000)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.gpio.debounceMs: sensor '{s.Id}' has {gpio.DebounceMs}; use 0 to 10000"));
            }

            if (gpio.SettleMs is < 0 or > 600_000)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.gpio.settleMs: sensor '{s.Id}' has {gpio.SettleMs}; use 0 to 600000 (10 min)"));
            }
            else if (gpio.SettleMs > 0 && s.Kind != SensorKind.Bed)
            {
                errors.Add($"{at}.gpio.settleMs: only a bed mat has a settle time (sensor '{s.Id}' is {s.Kind})");
            }

            if (gpio.Wiring is { } wiring && gpio.Pull == PullMode.None)
            {
                errors.Add($"{at}.gpio.pull: sensor '{s.Id}' is wired {(wiring == ContactWiring.NormallyOpen ? "normally-open" : "normally-closed")}; a contact needs \"pull\": \"up\" or \"down\" to define its idle level");
            }
        }

        if (s.Zigbee is { } z)
        {
            if (string.IsNullOrWhiteSpace(z.Device) || z.Device.IndexOfAny(['#', '+']) >= 0 || z.Device.StartsWith('/') || z.Device.EndsWith('/'))
            {
                errors.Add($"{at}.zigbee.device: sensor '{s.Id}' names '{z.Device}': give the zigbee2mqtt friendly name or IEEE address (no MQTT wildcards, no leading or trailing '/')");
            }
            else if (ZigbeePropertyMap.CandidateProperties(s.Kind).Count == 0)
            {
                errors.Add($"{at}.kind: sensor '{s.Id}' is {s.Kind}, which no zigbee2mqtt property maps to; wire it to GPIO instead");
            }
            else if (!zigbee.TryAdd((z.Device, s.Kind), s.Id))
            {
                errors.Add($"{at}.zigbee.device: sensor '{s.Id}' reads {s.Kind} from device '{z.Device}', as sensor '{zigbee[(z.Device, s.Kind)]}' already does");
            }
        }
    }

    private static void ValidatePin(int? line, int? headerPin, string at, string who, Dictionary<int, string> used, HashSet<string> freeBuses, List<string> errors)
    {
        int resolved;
        string path;
        string described;
        if (line is { } l)
        {
            path = $"{at}.line";
            if (headerPin is { } hp && BoardProfile.Pin(hp)?.Line != l)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}: {who} gives line {l} and header pin {hp}, which disagree; give one of them"));
                return;
            }

            if (!BoardProfile.IsHeaderLine(l))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}: {who} names GPIO {l}, which does not exist on the header (GPIO 0-27)"));
                return;
            }

            resolved = l;
            described = string.Create(CultureInfo.InvariantCulture, $"GPIO {l} (header pin {BoardProfile.HeaderPinOf(l)})");
        }
        else if (headerPin is { } hp)
        {
            path = $"{at}.headerPin";
            var pin = BoardProfile.Pin(hp);
            if (pin is null)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}: {who} names header pin {hp}, which does not exist (the header has pins 1-40)"));
                return;
            }

            if (pin.Line is not { } pl)
            {
                var what = pin.Use switch
                {
                    HeaderPinUse.Power3V3 => "3.3 V power",
                    HeaderPinUse.Power5V => "5 V power",
                    _ => "ground",
                };
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}: {who} names header pin {hp}, which is {what}, not a GPIO"));
                return;
            }

            resolved = pl;
            described = string.Create(CultureInfo.InvariantCulture, $"header pin {hp} (GPIO {pl})");
        }
        else
        {
            errors.Add($"{at}: {who} needs 'line' (GPIO number) or 'headerPin' (1-40)");
            return;
        }

        if (BoardProfile.ReservedFor(resolved) is { } reserved && !freeBuses.Contains(reserved.Bus))
        {
            errors.Add($"{path}: {who} uses {described}, reserved for {reserved.Function} (list \"{reserved.Bus}\" in $.board.freeBuses if this box does not use it)");
        }

        if (!used.TryAdd(resolved, who))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{path}: {who} uses GPIO {resolved}, already used by {used[resolved]}"));
        }
    }
}
