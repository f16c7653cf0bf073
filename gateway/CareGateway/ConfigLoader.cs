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
public static partial class ConfigLoader
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

        if (config.IotHub is null && string.IsNullOrWhiteSpace(config.Broker.Host))
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

        if (config.Broker.Tls is { } tls && string.IsNullOrWhiteSpace(tls.CaFile))
        {
            errors.Add("$.broker.tls.caFile: must name the CA certificate (PEM) that signed the broker's certificate");
        }

        SensorConfigValidation.Validate(config, errors);
        ValidateProfile(config.CareProfile, errors);
        ValidateIotHub(config.IotHub, errors);
        return errors;
    }

    /// <summary>Validates the careProfile section alone (a profile sent by the centre); each error names its field.</summary>
    public static List<string> ValidateCareProfile(CareProfileConfig profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var errors = new List<string>();
        ValidateProfile(profile, errors);
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
