using CareGateway.Protocol;

namespace CareGateway.Uplink;

/// <summary>
/// A way to the centre that carries alarms with the outbox's semantics: every pending alarm is sent, re-sent until the
/// centre says <c>received</c>, and every acknowledgement is recorded in the outbox. <see cref="MqttUplink"/> speaks
/// the care/v1 protocol to the centre's broker; <see cref="IotHub.IotHubUplink"/> speaks Azure IoT Hub's MQTT dialect.
/// </summary>
public interface IAlarmUplink : IAsyncDisposable
{
    /// <summary>Raised after an acknowledgement from the centre was recorded (or found already known).</summary>
    event Action<AckMessage, AckOutcome>? AckReceived;

    /// <summary>Raised after an alarm was published and the broker or hub confirmed it (PUBACK).</summary>
    event Action<AlarmMessage>? AlarmSent;

    /// <summary>Raised when the connection comes up.</summary>
    event Action? Connected;

    bool IsConnected { get; }

    /// <summary><c>mqtt</c> or <c>iot-hub</c>, as diagnostics report it.</summary>
    string Transport { get; }

    /// <summary>Wakes the sender: a new alarm is in the outbox.</summary>
    void NotifyNewAlarm();

    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>Where commands from the centre arrive as messages and their results go back as messages.</summary>
public interface ICommandChannel
{
    /// <summary>Raised with the raw payload of each command received; the handler must return quickly (it queues).</summary>
    event Action<byte[]>? CommandReceived;

    /// <summary>Sends a command result (QoS 1); false when it could not be delivered to the broker or hub.</summary>
    Task<bool> PublishCommandResultAsync(byte[] payload, CancellationToken cancellationToken);
}
