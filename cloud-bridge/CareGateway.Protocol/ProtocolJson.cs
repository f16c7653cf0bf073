using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CareGateway.Protocol;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(AlarmMessage))]
[JsonSerializable(typeof(AckMessage))]
[JsonSerializable(typeof(StatusMessage))]
[JsonSerializable(typeof(HeartbeatMessage))]
[JsonSerializable(typeof(HeartbeatAckMessage))]
internal sealed partial class ProtocolJsonContext : JsonSerializerContext;

/// <summary>Serializes protocol messages and parses them strictly, with an error that says what is wrong.</summary>
public static class ProtocolJson
{
    public const int Version = 1;

    /// <summary>Messages larger than this are rejected unread.</summary>
    public const int MaxMessageBytes = 64 * 1024;

    /// <summary>
    /// The MQTT 5 Maximum Packet Size both ends announce (and <c>max_packet_size</c> in the documented broker config): one
    /// message of <see cref="MaxMessageBytes"/> plus room for its topic and properties. The broker never sends a bigger
    /// packet, so an oversized message is not even read (issue 19 finding 10).
    /// </summary>
    public const int MaxPacketBytes = MaxMessageBytes + 1024;

    public static byte[] Serialize(AlarmMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, ProtocolJsonContext.Default.AlarmMessage);
    public static byte[] Serialize(AckMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, ProtocolJsonContext.Default.AckMessage);
    public static byte[] Serialize(StatusMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, ProtocolJsonContext.Default.StatusMessage);
    public static byte[] Serialize(HeartbeatMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, ProtocolJsonContext.Default.HeartbeatMessage);
    public static byte[] Serialize(HeartbeatAckMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, ProtocolJsonContext.Default.HeartbeatAckMessage);

    public static bool TryParseHeartbeatAck(ReadOnlySpan<byte> json, [NotNullWhen(true)] out HeartbeatAckMessage? message, out string error)
    {
        if (!TryDeserialize(json, ProtocolJsonContext.Default.HeartbeatAckMessage, out message, out error))
        {
            return false;
        }

        error = CheckVersion(message.Version)
            ?? CheckGateway(message.GatewayId)
            ?? (string.IsNullOrWhiteSpace(message.By) ? "by: must not be empty" : null)
            ?? string.Empty;
        return error.Length == 0 || Fail(ref message);
    }

    public static bool TryParseAlarm(ReadOnlySpan<byte> json, [NotNullWhen(true)] out AlarmMessage? message, out string error)
    {
        if (!TryDeserialize(json, ProtocolJsonContext.Default.AlarmMessage, out message, out error))
        {
            return false;
        }

        error = ValidateAlarm(message) ?? string.Empty;
        return error.Length == 0 || Fail(ref message);
    }

    public static bool TryParseAck(ReadOnlySpan<byte> json, [NotNullWhen(true)] out AckMessage? message, out string error)
    {
        if (!TryDeserialize(json, ProtocolJsonContext.Default.AckMessage, out message, out error))
        {
            return false;
        }

        error = CheckVersion(message.Version)
            ?? CheckGateway(message.GatewayId)
            ?? (string.IsNullOrWhiteSpace(message.AlarmId) ? "alarmId: must not be empty" : null)
            ?? (!Enum.IsDefined(message.State) ? "state: must be received, accepted or closed" : null)
            ?? (string.IsNullOrWhiteSpace(message.By) ? "by: must not be empty" : null)
            ?? (message.Repeats is < 0 ? $"repeats: must be 0 or more, was {message.Repeats}" : null)
            ?? string.Empty;
        return error.Length == 0 || Fail(ref message);
    }

    public static bool TryParseStatus(ReadOnlySpan<byte> json, [NotNullWhen(true)] out StatusMessage? message, out string error)
    {
        if (!TryDeserialize(json, ProtocolJsonContext.Default.StatusMessage, out message, out error))
        {
            return false;
        }

        error = CheckVersion(message.Version) ?? CheckGateway(message.GatewayId) ?? string.Empty;
        return error.Length == 0 || Fail(ref message);
    }

    public static bool TryParseHeartbeat(ReadOnlySpan<byte> json, [NotNullWhen(true)] out HeartbeatMessage? message, out string error)
    {
        if (!TryDeserialize(json, ProtocolJsonContext.Default.HeartbeatMessage, out message, out error))
        {
            return false;
        }

        error = CheckVersion(message.Version)
            ?? CheckGateway(message.GatewayId)
            ?? (message.IntervalSeconds <= 0 ? "intervalSeconds: must be positive" : null)
            ?? string.Empty;
        return error.Length == 0 || Fail(ref message);
    }

    private static string? ValidateAlarm(AlarmMessage m)
    {
        if (CheckVersion(m.Version) is { } version)
        {
            return version;
        }

        if (CheckGateway(m.GatewayId) is { } gateway)
        {
            return gateway;
        }

        if (!IsAlarmId(m.AlarmId))
        {
            return $"alarmId: must be a UUIDv7 in lower case like 019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12, was '{LogText.Escape(m.AlarmId)}'";
        }

        if (m.Seq < 1)
        {
            return $"seq: must be 1 or more, was {m.Seq}";
        }

        if (!AlarmCatalog.IsKnown(m.Type))
        {
            return $"type: unknown alarm type '{LogText.Escape(m.Type)}'";
        }

        if (!Triage.IsValid(m.Triage))
        {
            return $"triage: must be one of R, O, Y, G, B, was '{LogText.Escape(m.Triage)}'";
        }

        if (!Enum.IsDefined(m.Priority))
        {
            return "priority: must be critical, high, medium or low";
        }

        if (m.Repeats is { } repeats && (repeats < 1 || !AlarmCatalog.Repeats(m.Type)))
        {
            return repeats < 1
                ? $"repeats: must be 1 or more when present, was {repeats}"
                : $"repeats: a {LogText.Escape(m.Type)} alarm is not repeated (only {string.Join(", ", AlarmCatalog.RepeatedTypes)})";
        }

        if ((m.Repeats is null) != (m.RepeatedAt is null))
        {
            return "repeats and repeatedAt: either both or neither";
        }

        return m.Attempt < 1 ? $"attempt: must be 1 or more, was {m.Attempt}" : null;
    }

    /// <summary>
    /// A gateway's alarm id: a UUIDv7 (RFC 9562 variant) in its canonical lower-case form. The centre's own technical
    /// alarms use random UUIDv4, so a gateway can never send one of their ids.
    /// </summary>
    public static bool IsAlarmId(string? id) =>
        id is { Length: 36 } && id[14] == '7' && id[19] is '8' or '9' or 'a' or 'b'
        && Guid.TryParseExact(id, "D", out var guid) && string.Equals(guid.ToString("D"), id, StringComparison.Ordinal);

    private static string? CheckVersion(int version) =>
        version == Version ? null : $"version: this build speaks protocol version {Version}, the message says {version}";

    private static string? CheckGateway(string id) =>
        GatewayId.IsValid(id) ? null : $"gatewayId: '{LogText.Escape(id)}' is not a valid gateway id";

    private static bool Fail<T>(ref T? message)
        where T : class
    {
        message = null;
        return false;
    }

    /// <summary>The strict first step of every parser of this protocol: size limit, JSON, not null; errors say where.</summary>
    internal static bool TryDeserialize<T>(ReadOnlySpan<byte> json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, [NotNullWhen(true)] out T? message, out string error)
        where T : class
    {
        message = null;
        if (json.Length > MaxMessageBytes)
        {
            error = $"message is {json.Length} bytes; the limit is {MaxMessageBytes}";
            return false;
        }

        try
        {
            message = JsonSerializer.Deserialize(json, typeInfo);
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path ? $" at {path}" : string.Empty;
            error = $"not a valid {typeof(T).Name}{LogText.Escape(where)}: {LogText.Escape(ex.Message)}";
            return false;
        }

        if (message is null)
        {
            error = $"not a valid {typeof(T).Name}: the payload is JSON null";
            return false;
        }

        error = string.Empty;
        return true;
    }
}

/// <summary>Priority names as they appear on the wire and in config.</summary>
public static class AlarmPriorityNames
{
    public static string ToWire(this AlarmPriority priority) => priority switch
    {
        AlarmPriority.Critical => "critical",
        AlarmPriority.High => "high",
        AlarmPriority.Medium => "medium",
        AlarmPriority.Low => "low",
        _ => throw new ArgumentOutOfRangeException(nameof(priority), priority, "unknown priority"),
    };
}
