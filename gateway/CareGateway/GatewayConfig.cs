using System.Text.Json.Serialization;
using CareGateway.Hardware;
using CareGateway.Sensors;

namespace CareGateway;

/// <summary>The gateway's configuration file (docs/configuration.md). Property names are camelCase in JSON.</summary>
/// <remarks>Settable properties, not init-only: source-generated JSON would overwrite the defaults of absent init-only properties.</remarks>
public sealed record GatewayConfig
{
    /// <summary>This gateway's id: its MQTT client id and its topic subtree <c>care/v1/{gatewayId}/</c>.</summary>
    public string GatewayId { get; set; } = string.Empty;

    /// <summary>Where the outbox and other state live.</summary>
    public string DataDirectory { get; set; } = "/var/lib/care-gateway";

    public BrokerConfig Broker { get; set; } = new();

    /// <summary>Azure IoT Hub instead of the centre's own broker (docs/iot-hub.md); null uses <see cref="Broker"/>.</summary>
    public IotHubConfig? IotHub { get; set; }

    /// <summary>The durable alarm outbox's disk policy (docs/operations.md).</summary>
    public OutboxConfig Outbox { get; set; } = new();

    public BoardConfig Board { get; set; } = new();

    public IReadOnlyList<SensorDefinition> Sensors { get; set; } = [];

    /// <summary>
    /// The home's own room labels, for places the generic words (<see cref="SensorConfigValidation.GenericRooms"/>) do
    /// not name: a sensor's <c>room</c> is one of the two. Lower-case words joined by '-'; places, never names.
    /// </summary>
    public IReadOnlyList<string> Rooms { get; set; } = [];

    public CareProfileConfig CareProfile { get; set; } = new();

    /// <summary>The local zigbee2mqtt, when Zigbee sensors are declared (docs/sensors.md).</summary>
    public ZigbeeConfig? Zigbee { get; set; }
}

/// <summary>The local MQTT broker that zigbee2mqtt publishes to (not the centre's broker).</summary>
public sealed record ZigbeeConfig
{
    public ZigbeeBrokerConfig Broker { get; set; } = new();

    /// <summary>zigbee2mqtt's <c>mqtt.base_topic</c>.</summary>
    public string BaseTopic { get; set; } = "zigbee2mqtt";
}

public sealed record ZigbeeBrokerConfig
{
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 1883;

    public string? Username { get; set; }

    /// <summary>File holding the local broker's password; the password itself is never in the config.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>MQTT keep-alive with the local broker: one ping per period while idle; a lost broker is noticed within it.</summary>
    public int KeepAliveSeconds { get; set; } = 30;

    /// <summary>First step of the reconnect back-off.</summary>
    public int ReconnectMinMilliseconds { get; set; } = 100;

    /// <summary>Cap of the reconnect back-off: back within about a second of the local broker's return.</summary>
    public int ReconnectMaxMilliseconds { get; set; } = 1000;
}

public sealed record BrokerConfig
{
    public string Host { get; set; } = string.Empty;

    public int Port { get; set; } = 8883;

    public string? Username { get; set; }

    /// <summary>File holding the MQTT password (owner-only permissions); the password itself is never in the config.</summary>
    public string? PasswordFile { get; set; }

    public TlsConfig? Tls { get; set; }

    public int HeartbeatSeconds { get; set; } = 60;

    public int ResendAfterSeconds { get; set; } = 15;

    /// <summary>No 'received' this long after an alarm was raised (or no connection this long): local warning that the centre cannot be reached.</summary>
    public int ReceivedTimeoutSeconds { get; set; } = 60;

    /// <summary>No 'accepted' this long after an alarm was raised: the alarm is escalated.</summary>
    public int AcceptedTimeoutSeconds { get; set; } = 300;

    /// <summary>Escalation sends the alarm again (the centre sees a higher attempt).</summary>
    public bool EscalateByResend { get; set; } = true;

    /// <summary>Escalation turns on the local warning (buzzer/LED).</summary>
    public bool EscalateLocally { get; set; } = true;

    /// <summary>Heartbeats unanswered this long mean the centre is silent; absent means three heartbeat intervals.</summary>
    public int? CentreSilentSeconds { get; set; }

    /// <summary>Hours between automatic end-to-end test alarms; 0 turns them off.</summary>
    public double TestAlarmIntervalHours { get; set; } = 24;

    /// <summary>MQTT keep-alive with the centre's broker: one ping per period while idle; the broker publishes the will after 1.5 x this without a packet.</summary>
    public int KeepAliveSeconds { get; set; } = 30;

    /// <summary>First step of the reconnect back-off (also for IoT Hub).</summary>
    public int ReconnectMinMilliseconds { get; set; } = 100;

    /// <summary>Cap of the reconnect back-off (also for IoT Hub); docs/operations.md, "Reconnecting", says why 2000.</summary>
    public int ReconnectMaxMilliseconds { get; set; } = 2000;
}

public sealed record OutboxConfig
{
    /// <summary>Normal upper bound of the store; past it delivered alarms go first, and undelivered ones are never dropped.</summary>
    public int MaxMegabytes { get; set; } = 64;

    /// <summary>Delivered alarms are kept this long, then removed.</summary>
    public int DeliveredRetentionDays { get; set; } = 30;

    /// <summary>Disk space held back for the moment the disk is full; 0 turns it off.</summary>
    public int ReserveMegabytes { get; set; } = 4;
}

public sealed record TlsConfig
{
    public string CaFile { get; set; } = string.Empty;

    public string? CertFile { get; set; }

    public string? KeyFile { get; set; }
}

public enum BoardDriver
{
    /// <summary>Linux GPIO character device through libgpiod.</summary>
    [JsonStringEnumMemberName("libgpiod")] Libgpiod,

    /// <summary>The simulated board: for the demo, tests and a bench without hardware.</summary>
    [JsonStringEnumMemberName("simulated")] Simulated,
}

public sealed record BoardConfig
{
    public BoardDriver Driver { get; set; } = BoardDriver.Libgpiod;

    /// <summary>gpiochip number for libgpiod; omit it to let the board profile choose (0 on a Pi 3/4/Zero 2 W/CM4, the 54-line RP1 chip on a Pi 5).</summary>
    public int? Chip { get; set; }

    /// <summary>The board, for its header layout and gpiochip (docs/sensors.md). Omitted: <c>simulated</c> with the simulated driver, else <c>rpi4</c>.</summary>
    public BoardModel? Model { get; set; }

    /// <summary>Buses whose pins may be used as plain GPIO on this box (<c>i2c</c>, <c>uart</c>, <c>spi</c>, <c>id-eeprom</c>).</summary>
    public IReadOnlyList<string> FreeBuses { get; set; } = [];

    /// <summary>Buzzer for the local pre-alarm.</summary>
    public GpioOutputOptions? Buzzer { get; set; }

    /// <summary>LEDs for the local pre-alarm and status.</summary>
    public IReadOnlyList<GpioOutputOptions> Leds { get; set; } = [];

    /// <summary>The board model in effect.</summary>
    public BoardModel EffectiveModel() => Model ?? (Driver == BoardDriver.Simulated ? BoardModel.Simulated : BoardModel.RaspberryPi4);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GatewayConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
