using CareGateway.Mqtt;
using CareGateway.Protocol;

namespace CareGateway.Uplink;

/// <summary>Something the centre sent, as a transport hands it to the <see cref="Forwarder"/>.</summary>
public abstract record TransportInput;

/// <summary>
/// An acknowledgement of an alarm. <paramref name="Delivery"/> is acknowledged to the broker only after the forwarder has
/// recorded the answer on disk.
/// </summary>
public sealed record AckInput(AckMessage Ack, MqttDelivery Delivery) : TransportInput;

/// <summary>A command. <paramref name="Delivery"/> is acknowledged once the command's result is in the command journal.</summary>
public sealed record CommandInput(byte[] Payload, MqttDelivery Delivery) : TransportInput;

/// <summary>The centre answered a heartbeat (QoS 0: nothing to acknowledge).</summary>
public sealed record HeartbeatAnswerInput(HeartbeatAckMessage Answer) : TransportInput;

/// <summary>
/// A way to the centre for the <see cref="Forwarder"/>: it only connects (and keeps connected), publishes, and hands
/// over what the centre sends. Everything about what to send when (due alarms, re-sends, the send window, batching of
/// acknowledgements, pruning, supervision, heartbeats, test alarms, faults) is the forwarder's, the same for every
/// transport. <see cref="CareMqttTransport"/> speaks care/v1 to the centre's broker; <see cref="IotHub.IotHubTransport"/>
/// speaks Azure IoT Hub's MQTT dialect.
/// </summary>
public interface IUplinkTransport : IAsyncDisposable
{
    /// <summary><c>mqtt</c> or <c>iot-hub</c>, as diagnostics report it.</summary>
    string Name { get; }

    /// <summary>Connected and set up (subscriptions made, <c>online</c> said).</summary>
    bool IsConnected { get; }

    /// <summary>The connection that is up, or null.</summary>
    MqttSession? Session { get; }

    /// <summary>How many alarms may be in flight at once on the current connection.</summary>
    int SendWindow { get; }

    /// <summary>Where what the centre sends goes; set by the forwarder before <see cref="RunAsync"/>.</summary>
    Func<TransportInput, Task>? Received { get; set; }

    event Action<MqttSession>? Connected;

    event Action<string>? Disconnected;

    event Action<string>? ConnectFailed;

    /// <summary>Keeps the connection up until cancelled.</summary>
    Task RunAsync(CancellationToken cancellationToken);

    Task<bool> PublishAlarmAsync(AlarmMessage alarm, CancellationToken cancellationToken);

    /// <summary>QoS 0: a lost heartbeat is covered by the next.</summary>
    Task<bool> PublishHeartbeatAsync(HeartbeatMessage heartbeat, CancellationToken cancellationToken);

    Task<bool> PublishCommandResultAsync(byte[] payload, CancellationToken cancellationToken);

    /// <summary>
    /// Ends the connection. A stop says <c>offline</c> (or leaves it to the will when that cannot be said); a
    /// <paramref name="handover"/> (a configuration reload: the next gateway connects at once) says nothing and
    /// disconnects so that the broker discards the will: the centre never sees the gateway go offline.
    /// </summary>
    Task CloseAsync(bool handover);
}
