using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CareGateway.Protocol;

/// <summary>Command names as they go over the wire (docs/protocol.md, "Commands from the centre").</summary>
public static class CommandKind
{
    /// <summary>Raise a <c>test</c> alarm through the normal pipeline (outbox, uplink, acknowledgement).</summary>
    public const string TestAlarm = "test-alarm";

    /// <summary>Replace the resident's care profile: validated, applied atomically, or rejected with the old one kept.</summary>
    public const string ReplaceCareProfile = "replace-care-profile";

    /// <summary>Answer with technical diagnostics (no personal data).</summary>
    public const string RequestDiagnostics = "request-diagnostics";

    /// <summary>
    /// Validate a care profile and answer with the alarms it would have raised on the sensor events the gateway saw in
    /// the last days (its own replay, on its own recording); nothing is applied, nothing leaves but the alarms.
    /// </summary>
    public const string PreviewCareProfile = "preview-care-profile";

    /// <summary>The resident is away: door, bed and inactivity rules pause (never fall, panic, smoke or water).</summary>
    public const string SetAway = "set-away";

    /// <summary>The resident is home again: every rule of the care profile applies.</summary>
    public const string SetHome = "set-home";

    /// <summary>Home care or a visitor is present: inactivity, not-up, bathroom-stay and wandering pause (never an immediate alarm).</summary>
    public const string SetVisitor = "set-visitor";

    /// <summary>The visit is over: the paused rules apply again.</summary>
    public const string EndVisitor = "end-visitor";

    public static IReadOnlyList<string> All { get; } = [TestAlarm, ReplaceCareProfile, PreviewCareProfile, RequestDiagnostics, SetAway, SetHome, SetVisitor, EndVisitor];

    public static bool IsKnown(string? name) => name is TestAlarm or ReplaceCareProfile or PreviewCareProfile or RequestDiagnostics or SetAway or SetHome or SetVisitor or EndVisitor;

    /// <summary>The commands that carry a care profile.</summary>
    public static bool CarriesProfile(string? name) => name is ReplaceCareProfile or PreviewCareProfile;
}

/// <summary>Topics of the command exchange, under the gateway's own subtree.</summary>
public static class CommandTopics
{
    /// <summary>Centre -> gateway, QoS 1, not retained.</summary>
    public const string CommandLeaf = "command";

    /// <summary>Gateway -> centre, QoS 1, not retained.</summary>
    public const string ResultLeaf = "command-result";

    public static string Command(string gatewayId) => $"{Topics.Prefix(gatewayId)}/{CommandLeaf}";

    public static string Result(string gatewayId) => $"{Topics.Prefix(gatewayId)}/{ResultLeaf}";
}

/// <summary>How a command ended.</summary>
public enum CommandStatus
{
    /// <summary>Done as asked.</summary>
    [JsonStringEnumMemberName("ok")]
    Ok,

    /// <summary>Not done because the command was wrong (the reason says what and where); nothing changed.</summary>
    [JsonStringEnumMemberName("rejected")]
    Rejected,

    /// <summary>The command was right but the gateway could not carry it out (the reason says why); nothing changed.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,
}

/// <summary>Centre -> gateway on <c>care/v1/{gatewayId}/command</c>. Schema: docs/schemas/command.schema.json.</summary>
public sealed record CommandMessage
{
    public int Version { get; init; } = ProtocolJson.Version;

    /// <summary>The centre's id for this command; the result echoes it. A command re-sent with the same id runs once.</summary>
    public required string CommandId { get; init; }

    public required string GatewayId { get; init; }

    /// <summary>One of <see cref="CommandKind"/>.</summary>
    public required string Command { get; init; }

    public required DateTimeOffset SentAt { get; init; }

    /// <summary>Who asked: an operator or system id, never a name.</summary>
    public string? By { get; init; }

    /// <summary>For <see cref="CommandKind.ReplaceCareProfile"/> and <see cref="CommandKind.PreviewCareProfile"/>: the careProfile section as in the gateway configuration.</summary>
    public JsonElement? CareProfile { get; init; }
}

/// <summary>Gateway -> centre on <c>care/v1/{gatewayId}/command-result</c>. Schema: docs/schemas/command-result.schema.json.</summary>
public sealed record CommandResultMessage
{
    public int Version { get; init; } = ProtocolJson.Version;

    public required string CommandId { get; init; }

    public required string GatewayId { get; init; }

    /// <summary>The command as it was asked for (also when it is unknown and therefore rejected).</summary>
    public required string Command { get; init; }

    public required CommandStatus Status { get; init; }

    /// <summary>What was done, or why not (for a rejected profile: the field and the rule it breaks).</summary>
    public required string Reason { get; init; }

    public required DateTimeOffset At { get; init; }

    /// <summary>For <see cref="CommandKind.TestAlarm"/>: the id of the test alarm raised.</summary>
    public string? AlarmId { get; init; }

    /// <summary>For <see cref="CommandKind.RequestDiagnostics"/>.</summary>
    public DiagnosticsReport? Diagnostics { get; init; }

    /// <summary>For <see cref="CommandKind.PreviewCareProfile"/> when the profile is valid.</summary>
    public ProfilePreview? Preview { get; init; }
}

/// <summary>What a care profile would have raised on the gateway's recording of its recent sensor events.</summary>
public sealed record ProfilePreview
{
    /// <summary>The recording covers [from, until): from the gateway's start or the oldest event kept, whichever is later.</summary>
    public required DateTimeOffset From { get; init; }

    public required DateTimeOffset Until { get; init; }

    /// <summary>Sensor events replayed.</summary>
    public required int Events { get; init; }

    /// <summary>Alarms the profile would have raised (also those beyond <see cref="MaxAlarms"/>, which are not listed).</summary>
    public required int AlarmCount { get; init; }

    /// <summary>The first <see cref="MaxAlarms"/> of them, in time order.</summary>
    public required IReadOnlyList<PreviewAlarm> Alarms { get; init; }

    /// <summary>The longest list a result carries (a result stays well inside the 64 KiB message limit).</summary>
    public const int MaxAlarms = 100;
}

/// <summary>One alarm of a preview: what a real alarm would carry, no more.</summary>
public sealed record PreviewAlarm
{
    public required string Type { get; init; }

    public required DateTimeOffset At { get; init; }

    public string? SensorId { get; init; }

    public string? Room { get; init; }

    public required string Reason { get; init; }

    /// <summary>The resident would have cancelled it in the pre-alarm window (it is still reported).</summary>
    public bool Cancelled { get; init; }
}

/// <summary>Technical state of a gateway. Holds no personal data: no names, no rooms, no sensor events.</summary>
public sealed record DiagnosticsReport
{
    public required long UptimeSeconds { get; init; }

    /// <summary>Alarms stored on the gateway that the centre has not yet acknowledged as received.</summary>
    public required int PendingAlarms { get; init; }

    /// <summary>The highest alarm sequence number issued so far (0 when none).</summary>
    public required long LastSeq { get; init; }

    /// <summary><c>connected</c> or <c>disconnected</c>: the gateway's own view of its uplink.</summary>
    public required string Connection { get; init; }

    /// <summary><c>mqtt</c> (the centre's broker) or <c>iot-hub</c> (Azure IoT Hub).</summary>
    public required string Transport { get; init; }

    public required string SoftwareVersion { get; init; }

    public required int SensorCount { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CommandMessage))]
[JsonSerializable(typeof(CommandResultMessage))]
internal sealed partial class CommandJsonContext : JsonSerializerContext;

/// <summary>Serializes command messages and parses them strictly, with an error that says what is wrong and where.</summary>
public static class CommandJson
{
    /// <summary>Longest command id accepted.</summary>
    public const int MaxCommandIdLength = 64;

    public static byte[] Serialize(CommandMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, CommandJsonContext.Default.CommandMessage);

    public static byte[] Serialize(CommandResultMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, CommandJsonContext.Default.CommandResultMessage);

    public static bool TryParseCommand(ReadOnlySpan<byte> json, [NotNullWhen(true)] out CommandMessage? message, out string error)
    {
        if (!ProtocolJson.TryDeserialize(json, CommandJsonContext.Default.CommandMessage, out message, out error))
        {
            return false;
        }

        error = Validate(message) ?? string.Empty;
        if (error.Length == 0)
        {
            return true;
        }

        message = null;
        return false;
    }

    public static bool TryParseResult(ReadOnlySpan<byte> json, [NotNullWhen(true)] out CommandResultMessage? message, out string error)
    {
        if (!ProtocolJson.TryDeserialize(json, CommandJsonContext.Default.CommandResultMessage, out message, out error))
        {
            return false;
        }

        error = (message.Version != ProtocolJson.Version ? $"version: this build speaks protocol version {ProtocolJson.Version}, the message says {message.Version}" : null)
            ?? (!GatewayId.IsValid(message.GatewayId) ? $"gatewayId: '{LogText.Escape(message.GatewayId)}' is not a valid gateway id" : null)
            ?? CheckCommandId(message.CommandId)
            ?? (!Enum.IsDefined(message.Status) ? "status: must be ok, rejected or failed" : null)
            ?? string.Empty;
        if (error.Length == 0)
        {
            return true;
        }

        message = null;
        return false;
    }

    /// <summary>
    /// Reads only the command id of a command that failed strict parsing, so that the gateway can still answer
    /// <c>rejected</c> with the reason. False when there is no usable id (the command is then only logged).
    /// </summary>
    public static bool TryReadCommandId(ReadOnlySpan<byte> json, [NotNullWhen(true)] out string? commandId, out string command)
    {
        commandId = null;
        command = string.Empty;
        if (json.Length > ProtocolJson.MaxMessageBytes)
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            if (doc.RootElement.TryGetProperty("command", out var c) && c.ValueKind == JsonValueKind.String)
            {
                command = c.GetString() ?? string.Empty;
            }

            if (doc.RootElement.TryGetProperty("commandId", out var id) && id.ValueKind == JsonValueKind.String && CheckCommandId(id.GetString()) is null)
            {
                commandId = id.GetString()!;
                return true;
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    /// <summary>Null when the id is acceptable: 1-64 characters of letters, digits, '-', '_', '.' and ':'.</summary>
    public static string? CheckCommandId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxCommandIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')
            ? null
            : $"commandId: '{LogText.Escape(id)}' is not valid: use 1-{MaxCommandIdLength} characters of letters, digits, '-', '_', '.' and ':'";

    private static string? Validate(CommandMessage m)
    {
        if (m.Version != ProtocolJson.Version)
        {
            return $"version: this build speaks protocol version {ProtocolJson.Version}, the message says {m.Version}";
        }

        if (!GatewayId.IsValid(m.GatewayId))
        {
            return $"gatewayId: '{LogText.Escape(m.GatewayId)}' is not a valid gateway id";
        }

        if (CheckCommandId(m.CommandId) is { } id)
        {
            return id;
        }

        if (!CommandKind.IsKnown(m.Command))
        {
            return $"command: unknown command '{LogText.Escape(m.Command)}'; known: {string.Join(", ", CommandKind.All)}";
        }

        if (CommandKind.CarriesProfile(m.Command))
        {
            return m.CareProfile is { ValueKind: JsonValueKind.Object }
                ? null
                : $"careProfile: {m.Command} needs the careProfile section as a JSON object";
        }

        return m.CareProfile is null ? null : $"careProfile: only replace-care-profile and preview-care-profile carry a care profile, not {m.Command}";
    }
}
