using System.Text.Json.Serialization;
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

    /// <summary>The durable alarm outbox's disk policy (docs/operations.md).</summary>
    public OutboxConfig Outbox { get; set; } = new();

    public BoardConfig Board { get; set; } = new();

    public IReadOnlyList<SensorDefinition> Sensors { get; set; } = [];

    public CareProfileConfig CareProfile { get; set; } = new();
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

    /// <summary>gpiochip number for libgpiod (0 on a Pi 3/4 and on a Pi 5 with a recent kernel).</summary>
    public int Chip { get; set; }
}

public sealed record CareProfileConfig
{
    public string TimeZone { get; set; } = Core.CareProfile.DefaultTimeZone;

    public TimeWindowConfig NightWindow { get; set; } = new();

    public WanderingConfig Wandering { get; set; } = new();
}

public sealed record TimeWindowConfig
{
    /// <summary>Local time, HH:mm.</summary>
    public string Start { get; set; } = "22:00";

    /// <summary>Local time, HH:mm; before <see cref="Start"/> means the window crosses midnight.</summary>
    public string End { get; set; } = "06:00";
}

public sealed record WanderingConfig
{
    public bool Enabled { get; set; } = true;

    public double GraceMinutes { get; set; } = 5;
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
