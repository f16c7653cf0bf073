using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CareGateway.Protocol;

/// <summary>
/// Gateway -> centre on <c>care/v1/{gatewayId}/sensors/{sensorId}</c>, QoS 1, retained: one sensor's normalized state and
/// health, so the centre sees a dead or weak sensor before it is needed. Schema: docs/schemas/sensor.schema.json.
/// No resident data: a sensor id, its kind and a room label.
/// </summary>
public sealed record SensorStatusMessage
{
    public int Version { get; init; } = ProtocolJson.Version;

    public required string GatewayId { get; init; }

    public required string SensorId { get; init; }

    /// <summary>fall, door, bed, motion, presence, panic, smoke, water, cancel-button, power-fail.</summary>
    public required string Kind { get; init; }

    public required string Room { get; init; }

    /// <summary>gpio or zigbee.</summary>
    public required string Source { get; init; }

    /// <summary>active, inactive or unknown (not reported yet).</summary>
    public required string State { get; init; }

    public DateTimeOffset? StateSince { get; init; }

    public required bool Online { get; init; }

    /// <summary>Why the sensor is offline: supervision-timeout, device-unavailable, zigbee2mqtt-offline, local-broker-unreachable.</summary>
    public string? OfflineReason { get; init; }

    public DateTimeOffset? LastSeen { get; init; }

    public int? BatteryPercent { get; init; }

    public bool? BatteryLow { get; init; }

    public bool? Tamper { get; init; }

    /// <summary>Zigbee link quality, 0-255.</summary>
    public int? LinkQuality { get; init; }

    /// <summary>Silence longer than this makes the sensor offline; absent when the sensor is not supervised.</summary>
    public int? SupervisionSeconds { get; init; }

    /// <summary>When the gateway published this status.</summary>
    public required DateTimeOffset At { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(SensorStatusMessage))]
internal sealed partial class SensorStatusJsonContext : JsonSerializerContext;

/// <summary>Serializes and strictly parses <see cref="SensorStatusMessage"/>.</summary>
public static class SensorStatusJson
{
    private static readonly string[] States = ["active", "inactive", "unknown"];

    public static byte[] Serialize(SensorStatusMessage message) => JsonSerializer.SerializeToUtf8Bytes(message, SensorStatusJsonContext.Default.SensorStatusMessage);

    public static bool TryParse(ReadOnlySpan<byte> json, [NotNullWhen(true)] out SensorStatusMessage? message, out string error)
    {
        message = null;
        try
        {
            message = JsonSerializer.Deserialize(json, SensorStatusJsonContext.Default.SensorStatusMessage);
        }
        catch (JsonException ex)
        {
            error = ex.Message;
            return false;
        }

        error = message is null ? "the message is JSON null"
            : message.Version != ProtocolJson.Version ? $"version: this build speaks protocol version {ProtocolJson.Version}, the message says {message.Version}"
            : !GatewayId.IsValid(message.GatewayId) ? $"gatewayId: '{message.GatewayId}' is not a valid gateway id"
            : !GatewayId.IsValid(message.SensorId) ? $"sensorId: '{message.SensorId}' is not a valid sensor id"
            : !States.Contains(message.State, StringComparer.Ordinal) ? $"state: must be active, inactive or unknown, was '{message.State}'"
            : string.Empty;
        if (error.Length > 0 || message is null)
        {
            message = null;
            return false;
        }

        return true;
    }
}
