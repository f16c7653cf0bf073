using CareGateway.Protocol;
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

    private bool TryHandleCommand(string topic, ReadOnlySpan<byte> payload)
    {
        if (topic != CommandTopics.Command(_options.GatewayId))
        {
            return false;
        }

        CommandReceived?.Invoke(payload.ToArray());
        return true;
    }
}
