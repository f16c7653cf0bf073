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
        // Unknown keys first, each with its path and the closest settings; the rest is still read and checked, so
        // every problem is reported at once.
        var (unknown, known) = ConfigKeys.Check(json);
        GatewayConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(known ?? json, ConfigJsonContext.Default.GatewayConfig);
        }
        catch (JsonException ex)
        {
            var where = ex.Path ?? "$";
            throw new ConfigException(source, [.. unknown, $"{where}{LineOf(ex, json, where, "$", rewritten: unknown.Count > 0)}: {Describe(ex)}"]);
        }

        if (config is null)
        {
            throw new ConfigException(source, [.. unknown, "$: the file holds JSON null, not a configuration object"]);
        }

        // Room labels are checked when a file is written (Validate), not when the service reads it: a gateway whose
        // file has a room that may be a name keeps protecting the home, and logs it (RunCommand).
        var errors = ValidateReadable(config);
        errors.InsertRange(0, unknown);
        return errors.Count == 0 ? config : throw new ConfigException(source, errors);
    }

    public static string Serialize(GatewayConfig config) => JsonSerializer.Serialize(config, ConfigJsonContext.Default.GatewayConfig);

    /// <summary>Every problem of <paramref name="config"/>, its room labels too (<see cref="SensorConfigValidation.RoomErrors"/>): what a command checks before it writes a file.</summary>
    public static List<string> Validate(GatewayConfig config)
    {
        var errors = ValidateReadable(config);
        errors.AddRange(SensorConfigValidation.RoomErrors(config));
        return errors;
    }

    /// <summary>The problems that make a configuration unusable: all but the room labels.</summary>
    private static List<string> ValidateReadable(GatewayConfig config)
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

        SensorConfigValidation.Validate(config, errors);
        CareProfileValidation.Validate(config.CareProfile, errors);
        ValidateIotHub(config.IotHub, errors);
        return errors;
    }

    /// <summary>Validates the careProfile section alone (a profile sent by the centre); each error names its field.</summary>
    public static List<string> ValidateCareProfile(CareProfileConfig profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var errors = new List<string>();
        CareProfileValidation.Validate(profile, errors);
        return errors;
    }

    /// <summary>The care profile the rules use, from its validated configuration.</summary>
    public static CareProfile ToProfile(CareProfileConfig config) => CareProfileValidation.ToProfile(config);

    /// <summary>
    /// " (line N)" for a JSON error: the reader's line when it read the text as written; after unknown keys were taken
    /// out (<paramref name="rewritten"/>), the line of the key at <paramref name="path"/> in the text as written.
    /// </summary>
    internal static string LineOf(JsonException ex, string text, string path, string root, bool rewritten)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var line = !rewritten && ex.LineNumber is { } l ? (int)l + 1 : ConfigKeys.LineOf(text, path, root);
        return line is { } n ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $" (line {n})") : string.Empty;
    }

    /// <summary>What a JSON error says, for a person: its first sentence, without .NET type names.</summary>
    internal static string Describe(JsonException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var message = FirstSentence(ex.Message);
        if (ConvertedTo().Match(message) is { Success: true } m)
        {
            // "could not be converted to System.Boolean": say what the value must look like instead.
            return m.Groups[1].Value switch
            {
                "System.Boolean" => "the value must be true or false (without quotes)",
                "System.Int32" or "System.Int64" or "System.Nullable`1[System.Int32]" or "System.Nullable`1[System.Int64]" => "the value must be a whole number (without quotes)",
                "System.Double" or "System.Decimal" or "System.Nullable`1[System.Double]" => "the value must be a number (without quotes)",
                "System.String" => "the value must be text in double quotes",
                "System.TimeOnly" or "System.Nullable`1[System.TimeOnly]" => "the value must be a time in double quotes, such as \"22:00\"",
                _ => "the value is not of the right kind (docs/configuration.md and docs/care-profile.md give each setting's values)",
            };
        }

        return Cli.GatewayCommandLine.WithoutTypeNames(message);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"could not be converted to ([^\s.]+(?:\.[^\s.]+)*[^\s.])", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex ConvertedTo();

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
