using System.Buffers;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.Mqtt;

/// <summary>
/// One message the broker handed over. A QoS 1 message is acknowledged to the broker (PUBACK) only when the user calls
/// <see cref="Acknowledge"/>, once its effect is durable; PUBACKs go out in the order the messages arrived, as MQTT
/// requires ([MQTT-4.6.0-2]), so one message not yet acknowledged holds back the PUBACKs of those after it (their
/// effects go on meanwhile). A message never acknowledged is delivered again on the next connection (persistent
/// session). QoS 0 needs no acknowledgement; <see cref="Acknowledge"/> does nothing then.
/// </summary>
public sealed class MqttDelivery
{
    private readonly MqttConnection? _owner;
    private int _acknowledged;

    internal MqttDelivery(MqttConnection owner, MqttApplicationMessageReceivedEventArgs args, int connection)
    {
        _owner = owner;
        Args = args;
        Connection = connection;
        var message = args.ApplicationMessage;
        Topic = message.Topic;
        PayloadLength = message.Payload.Length;

        // A payload over the announced Maximum Packet Size (a broker that ignores it) is not copied: nobody may read it.
        Oversized = owner.MaximumPacketSize > 0 && PayloadLength > owner.MaximumPacketSize;
        Payload = Oversized ? [] : message.Payload.ToArray();
        Qos = message.QualityOfServiceLevel;
        Retained = message.Retain;
        Duplicate = message.Dup;
    }

    /// <summary>A delivery made by hand (unit tests of a user of the connection).</summary>
    public MqttDelivery(string topic, byte[] payload, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce, bool retained = false, bool duplicate = false)
    {
        Topic = topic;
        Payload = payload;
        PayloadLength = payload.Length;
        Qos = qos;
        Retained = retained;
        Duplicate = duplicate;
    }

    public string Topic { get; }

    /// <summary>The payload; empty when <see cref="Oversized"/>.</summary>
    public byte[] Payload { get; }

    /// <summary>How long the payload was as it came (also when it was too big to be copied).</summary>
    public long PayloadLength { get; }

    /// <summary>The payload was over the connection's Maximum Packet Size and was not copied (<see cref="Payload"/> is empty).</summary>
    public bool Oversized { get; }

    public MqttQualityOfServiceLevel Qos { get; }

    /// <summary>A retained message the broker kept (sent on subscribing), not a new one.</summary>
    public bool Retained { get; }

    /// <summary>The broker sent this message before without getting our acknowledgement (a redelivery).</summary>
    public bool Duplicate { get; }

    /// <summary>True once <see cref="Acknowledge"/> was called.</summary>
    public bool IsAcknowledged => Volatile.Read(ref _acknowledged) == 1;

    internal MqttApplicationMessageReceivedEventArgs? Args { get; }

    /// <summary>The number of the connection it came on (<see cref="MqttSession.Number"/>); acknowledgements of an older connection are not sent.</summary>
    public int ConnectionNumber => Connection;

    internal int Connection { get; }

    /// <summary>Its effect is durable: let the broker forget it. Safe to call more than once and from any thread.</summary>
    public void Acknowledge()
    {
        if (Interlocked.Exchange(ref _acknowledged, 1) == 0)
        {
            _owner?.Acknowledged(this);
        }
    }
}
