namespace CareGateway.Uplink;

/// <summary>A command as it arrived; <see cref="Acknowledge"/> lets the broker forget it once its result is in the command journal.</summary>
public sealed record ReceivedCommand(byte[] Payload, Action Acknowledge);

/// <summary>Where commands from the centre arrive as messages and their results go back as messages.</summary>
public interface ICommandChannel
{
    /// <summary>Raised for each command received; the handler must return quickly (it queues) and acknowledge once the result is durable.</summary>
    event Action<ReceivedCommand>? CommandReceived;

    /// <summary>Sends a command result (QoS 1); false when it could not be delivered to the broker or hub.</summary>
    Task<bool> PublishCommandResultAsync(byte[] payload, CancellationToken cancellationToken);
}
