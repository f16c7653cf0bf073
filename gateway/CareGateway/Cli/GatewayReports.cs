using System.Text.Json;

namespace CareGateway.Cli;

/// <summary>What a running gateway last published, retained, on the centre's broker: its status and each sensor's report.</summary>
public sealed record GatewayReports(MqttMessage? Status, IReadOnlyDictionary<string, JsonElement> Sensors)
{
    /// <summary>
    /// Subscribes to the sensors' reports first and the status last: the broker sends each subscription's retained
    /// messages in order on one connection, so once the status has arrived every sensor report has arrived before it.
    /// Every report read while waiting is kept (the wait consumes what it reads).
    /// </summary>
    public static async Task<GatewayReports> ReadAsync(LocalMqtt mqtt, string gatewayId, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mqtt);
        var prefix = $"care/v1/{gatewayId}/";
        var sensors = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        void Note(MqttMessage m)
        {
            if (m.Topic.StartsWith(prefix + "sensors/", StringComparison.Ordinal) && m.Payload.Length > 0)
            {
                using var doc = JsonDocument.Parse(m.Payload);
                sensors[m.Topic[(prefix.Length + "sensors/".Length)..]] = doc.RootElement.Clone();
            }
        }

        await mqtt.SubscribeAsync(prefix + "sensors/+", cancellationToken);
        await mqtt.SubscribeAsync(prefix + "status", cancellationToken);
        var status = await mqtt.WaitForAsync(m => { Note(m); return m.Topic == prefix + "status"; }, wait, time, cancellationToken);
        while (mqtt.Messages.TryRead(out var m))
        {
            Note(m);
        }

        return new GatewayReports(status, sensors);
    }
}
