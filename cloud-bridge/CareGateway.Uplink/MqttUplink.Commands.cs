using System.Buffers;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;

namespace CareGateway.Uplink;

/// <summary>The command side of the care/v1 uplink: <c>care/v1/{gatewayId}/command</c> in, <c>.../command-result</c> out.</summary>
public sealed partial class MqttUplink : IAlarmUplink, ICommandChannel
{
    /// <inheritdoc/>
    public event Action<byte[]>? CommandReceived;

    /// <inheritdoc/>
    public string Transport => "mqtt";

    /// <inheritdoc/>
    public Task<bool> PublishCommandResultAsync(byte[] payload, CancellationToken cancellationToken) =>
        PublishAsync(CommandTopics.Result(_options.GatewayId), payload, MqttQualityOfServiceLevel.AtLeastOnce, retain: false, cancellationToken);

    private bool TryHandleCommand(string topic, ReadOnlySequence<byte> payload)
    {
        if (topic != CommandTopics.Command(_options.GatewayId))
        {
            return false;
        }

        if (payload.Length > ProtocolJson.MaxMessageBytes)
        {
            _log.LogWarning("Rejected a command on {Topic}: {Bytes} bytes is over the limit", topic, payload.Length);
            return true;
        }

        CommandReceived?.Invoke(payload.ToArray());
        return true;
    }
}
