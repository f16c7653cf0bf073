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
public static partial class SensorConfigValidation
{
    private static readonly string[] KnownBuses = ["i2c", "uart", "spi", "id-eeprom"];

    /// <summary>
    /// The generic room words a sensor's <c>room</c> may be without the home's list (<c>$.rooms</c>), each also with a
    /// number (<c>bedroom-2</c>). A room label goes to the centre with every alarm: a place, never a person's name.
    /// </summary>
    public static IReadOnlyList<string> GenericRooms { get; } =
    [
        "hallway", "hall", "entrance", "porch", "corridor", "stairs", "landing",
        "bedroom", "guest-room", "bathroom", "toilet", "shower", "kitchen", "living-room", "livingroom", "dining-room",
        "office", "study", "laundry", "utility-room", "storage", "closet", "basement", "attic", "garage",
        "balcony", "terrace", "garden", "sunroom", "workshop",
    ];

    private const string WhyPlaces = "room labels go to the centre with every alarm, so they name places, never people";

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

    /// <summary>
    /// Each room label that is not a place of this home (a generic room word, or one of <c>$.rooms</c>), with the
    /// reason: labels go over the wire, and a capitalised or unknown word may be a person's name.
    /// </summary>
    public static List<string> RoomErrors(GatewayConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = new List<string>();
        var homeRooms = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.Rooms.Count; i++)
        {
            var room = config.Rooms[i];
            if (room is null || !IsRoomWord(room))
            {
                errors.Add($"$.rooms[{i}]: '{room}' is not a room label: use lower-case words of a-z and 0-9 joined by '-' (for example 'annex'); {WhyPlaces}");
            }
            else
            {
                homeRooms.Add(room);
            }
        }

        for (var i = 0; i < config.Sensors.Count; i++)
        {
            if (config.Sensors[i] is { Room: { } room } sensor && !string.IsNullOrWhiteSpace(room) && RoomProblem(room, homeRooms) is { } problem)
            {
                errors.Add($"$.sensors[{i}].room: sensor '{sensor.Id}' {problem}");
            }
        }

        return errors;
    }

    /// <summary>Why <paramref name="room"/> is not a room label of this home (after "sensor 'x' "), or null when it is one.</summary>
    internal static string? RoomProblem(string room, IReadOnlySet<string> homeRooms)
    {
        if (room.Any(char.IsUpper))
        {
            return $"has the room '{room}', capitalised like a person's name: {WhyPlaces}. Use a generic room in lower case ({Examples(room.ToLowerInvariant(), homeRooms)}), or add the place to $.rooms.";
        }

        if (!IsRoomWord(room))
        {
            return $"has the room '{room}': use lower-case words of a-z and 0-9 joined by '-' ({Examples(room, homeRooms)}); {WhyPlaces}.";
        }

        var generic = NumberSuffix().Replace(room, string.Empty);
        if (homeRooms.Contains(room) || GenericRooms.Contains(generic, StringComparer.Ordinal))
        {
            return null;
        }

        return $"has the room '{room}', which is not one of this home's rooms: {WhyPlaces}, and a word that is not a room may be a name. Use a generic room ({Examples(room, homeRooms)}), or add the place to $.rooms.";
    }

    private static string Examples(string given, IReadOnlySet<string> homeRooms)
    {
        var close = Cli.GatewayCommandLine.DidYouMean(given, [.. GenericRooms, .. homeRooms]);
        return close.Length > 0 ? close.Trim() : $"for example {string.Join(", ", GenericRooms.Take(8))}, ...; docs/configuration.md lists them";
    }

    private static bool IsRoomWord(string room) => room.Length is > 0 and <= 64 && RoomWord().IsMatch(room);

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex RoomWord();

    [System.Text.RegularExpressions.GeneratedRegex("-[0-9]+$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex NumberSuffix();

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
