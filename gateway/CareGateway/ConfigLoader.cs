using System.Globalization;
using System.Text.Json;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway;

/// <summary>A configuration that cannot be used; <see cref="Exception.Message"/> lists every problem with its JSON path.</summary>
public sealed class ConfigException(string source, IReadOnlyList<string> errors)
    : Exception($"Configuration '{source}' is not valid:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", errors)}")
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>Reads and validates the configuration file.</summary>
public static class ConfigLoader
{
    public static GatewayConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, [$"cannot read the file: {ex.Message}"]);
        }

        return Parse(text, path);
    }

    public static GatewayConfig Parse(string json, string source)
    {
        GatewayConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, ConfigJsonContext.Default.GatewayConfig);
        }
        catch (JsonException ex)
        {
            var where = ex.Path ?? "$";
            var line = ex.LineNumber is { } l ? $" (line {l + 1})" : string.Empty;
            throw new ConfigException(source, [$"{where}{line}: {FirstSentence(ex.Message)}"]);
        }

        if (config is null)
        {
            throw new ConfigException(source, ["$: the file holds JSON null, not a configuration object"]);
        }

        var errors = Validate(config);
        return errors.Count == 0 ? config : throw new ConfigException(source, errors);
    }

    public static string Serialize(GatewayConfig config) => JsonSerializer.Serialize(config, ConfigJsonContext.Default.GatewayConfig);

    public static List<string> Validate(GatewayConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var errors = new List<string>();
        if (!GatewayId.IsValid(config.GatewayId))
        {
            errors.Add($"$.gatewayId: '{config.GatewayId}' is not valid: use 1-64 characters of a-z, 0-9 and '-'");
        }

        if (string.IsNullOrWhiteSpace(config.DataDirectory))
        {
            errors.Add("$.dataDirectory: must name a directory");
        }

        if (string.IsNullOrWhiteSpace(config.Broker.Host))
        {
            errors.Add("$.broker.host: must name the centre's broker");
        }

        if (config.Broker.Port is < 1 or > 65535)
        {
            errors.Add($"$.broker.port: {config.Broker.Port} is not a TCP port");
        }

        if (config.Broker.HeartbeatSeconds < 1)
        {
            errors.Add($"$.broker.heartbeatSeconds: must be 1 or more, was {config.Broker.HeartbeatSeconds}");
        }

        if (config.Broker.ResendAfterSeconds < 1)
        {
            errors.Add($"$.broker.resendAfterSeconds: must be 1 or more, was {config.Broker.ResendAfterSeconds}");
        }

        if (config.Outbox.MaxMegabytes is < 1 or > 4096)
        {
            errors.Add($"$.outbox.maxMegabytes: use 1 to 4096, was {config.Outbox.MaxMegabytes}");
        }

        if (config.Outbox.DeliveredRetentionDays is < 1 or > 3650)
        {
            errors.Add($"$.outbox.deliveredRetentionDays: use 1 to 3650, was {config.Outbox.DeliveredRetentionDays}");
        }

        if (config.Outbox.ReserveMegabytes is < 0 or > 1024)
        {
            errors.Add($"$.outbox.reserveMegabytes: use 0 (off) to 1024, was {config.Outbox.ReserveMegabytes}");
        }

        if (config.Broker.ReceivedTimeoutSeconds < 1)
        {
            errors.Add($"$.broker.receivedTimeoutSeconds: must be 1 or more, was {config.Broker.ReceivedTimeoutSeconds}");
        }

        if (config.Broker.AcceptedTimeoutSeconds < 1)
        {
            errors.Add($"$.broker.acceptedTimeoutSeconds: must be 1 or more, was {config.Broker.AcceptedTimeoutSeconds}");
        }

        if (config.Broker.CentreSilentSeconds is < 1)
        {
            errors.Add($"$.broker.centreSilentSeconds: must be 1 or more, was {config.Broker.CentreSilentSeconds}");
        }

        if (config.Broker.TestAlarmIntervalHours is < 0 or > 24 * 31)
        {
            errors.Add($"$.broker.testAlarmIntervalHours: use 0 (off) up to 744 hours, was {config.Broker.TestAlarmIntervalHours}");
        }

        if (config.Broker.Tls is { CertFile: not null, KeyFile: null } or { CertFile: null, KeyFile: not null })
        {
            errors.Add("$.broker.tls: certFile and keyFile go together (mutual TLS needs both)");
        }

        if (config.Broker.Tls is { } tls && string.IsNullOrWhiteSpace(tls.CaFile))
        {
            errors.Add("$.broker.tls.caFile: must name the CA certificate (PEM) that signed the broker's certificate");
        }

        ValidateSensors(config.Sensors, errors);
        ValidateProfile(config.CareProfile, errors);
        return errors;
    }

    /// <summary>The care profile the rules use, from its validated configuration.</summary>
    public static CareProfile ToProfile(CareProfileConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new CareProfile
        {
            TimeZone = config.TimeZone,
            NightWindow = new TimeWindow(ParseTime(config.NightWindow.Start)!.Value, ParseTime(config.NightWindow.End)!.Value),
            Wandering = new WanderingRule { Enabled = config.Wandering.Enabled, GraceMinutes = config.Wandering.GraceMinutes },
        };
    }

    private static void ValidateSensors(IReadOnlyList<SensorDefinition> sensors, List<string> errors)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var lines = new Dictionary<int, string>();
        for (var i = 0; i < sensors.Count; i++)
        {
            var s = sensors[i];
            var at = $"$.sensors[{i}]";
            if (s is null)
            {
                errors.Add($"{at}: must be a sensor object");
                continue;
            }

            if (!GatewayId.IsValid(s.Id))
            {
                errors.Add($"{at}.id: '{s.Id}' is not valid: use 1-64 characters of a-z, 0-9 and '-'");
            }
            else if (!ids.TryAdd(s.Id, i))
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

            if (s.Gpio is null)
            {
                errors.Add($"{at}: sensor '{s.Id}' has no source: add a 'gpio' section");
                continue;
            }

            if (s.Gpio.Line is < 0 or > 53)
            {
                errors.Add($"{at}.gpio.line: sensor '{s.Id}' names GPIO {s.Gpio.Line}, which does not exist");
            }
            else if (!lines.TryAdd(s.Gpio.Line, s.Id))
            {
                errors.Add($"{at}.gpio.line: sensor '{s.Id}' uses GPIO {s.Gpio.Line}, already used by sensor '{lines[s.Gpio.Line]}'");
            }

            if (s.Gpio.DebounceMs is < 0 or > 10_000)
            {
                errors.Add($"{at}.gpio.debounceMs: sensor '{s.Id}' has {s.Gpio.DebounceMs}; use 0 to 10000");
            }
        }
    }

    private static void ValidateProfile(CareProfileConfig profile, List<string> errors)
    {
        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(profile.TimeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            errors.Add($"$.careProfile.timeZone: '{profile.TimeZone}' is not a known IANA time zone (for example Europe/Oslo)");
        }

        if (ParseTime(profile.NightWindow.Start) is null)
        {
            errors.Add($"$.careProfile.nightWindow.start: '{profile.NightWindow.Start}' is not a time of day as HH:mm");
        }

        if (ParseTime(profile.NightWindow.End) is null)
        {
            errors.Add($"$.careProfile.nightWindow.end: '{profile.NightWindow.End}' is not a time of day as HH:mm");
        }

        if (profile.Wandering.GraceMinutes is <= 0 or > 180)
        {
            errors.Add($"$.careProfile.wandering.graceMinutes: {profile.Wandering.GraceMinutes} is outside 0-180 minutes");
        }
    }

    private static TimeOnly? ParseTime(string? text) =>
        TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null;

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
