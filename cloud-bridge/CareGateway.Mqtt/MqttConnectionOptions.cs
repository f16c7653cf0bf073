using CareGateway.Resilience;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace CareGateway.Mqtt;

/// <summary>A broker to connect to.</summary>
public sealed record MqttEndpoint(string Host, int Port)
{
    public override string ToString() => $"{Host}:{Port}";
}

/// <summary>A subscription made on every connect (whether or not the broker kept the session).</summary>
public sealed record MqttSubscription(string Filter, MqttQualityOfServiceLevel Qos);

/// <summary>The last will, built afresh for each connect (its payload may say when the connection began).</summary>
/// <param name="DelaySeconds">MQTT 5 Will Delay Interval: the broker waits this long and drops the will if the client is back.</param>
public sealed record MqttWill(string Topic, byte[] Payload, MqttQualityOfServiceLevel Qos, bool Retain, uint DelaySeconds = 0);

/// <summary>
/// TLS to a broker. With <see cref="CaFile"/> only the CAs in that PEM file are trusted (CA pinning: the machine's trust
/// store is not used); without it the machine's trust store is (a public service such as Azure IoT Hub). The broker's
/// certificate must name <see cref="TargetHost"/> (by default the host dialled). <see cref="CertFile"/> and
/// <see cref="KeyFile"/> are the client certificate for mutual TLS.
/// </summary>
public sealed record MqttTlsOptions
{
    public string? CaFile { get; init; }

    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    /// <summary>The name the broker's certificate must carry when it differs from the host dialled.</summary>
    public string? TargetHost { get; init; }
}

/// <summary>
/// Everything about one MQTT connection of the product (docs/operations.md, "Connections to brokers"). The defaults
/// suit a persistent MQTT 5 session with QoS 1 input.
/// </summary>
public sealed record MqttConnectionOptions
{
    /// <summary>Who this connection is, in the log: "the centre's broker", "the local zigbee2mqtt broker".</summary>
    public string Name { get; init; } = "the MQTT broker";

    /// <summary>
    /// The broker. (Issue 16 turns this into an ordered list of endpoints; the connect loop already picks the endpoint
    /// for each attempt in one place, <see cref="MqttConnection"/>'s <c>EndpointFor</c>.)
    /// </summary>
    public required MqttEndpoint Endpoint { get; init; }

    public required string ClientId { get; init; }

    /// <summary>MQTT 5 (default) or 3.1.1 (Azure IoT Hub, and brokers that speak only 3.1.1).</summary>
    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V500;

    public string? Username { get; init; }

    /// <summary>The password, asked for on every connect (a SAS token must be fresh each time). Never logged.</summary>
    public Func<string?>? Password { get; init; }

    public MqttTlsOptions? Tls { get; init; }

    /// <summary>
    /// Sent in CONNECT; the broker drops the connection after 1.5 x this without a packet, and this connection sends a
    /// ping once per period: the only timer it runs while idle (MQTTnet's own 250 ms keep-alive loop is not used).
    /// </summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>False (default): a persistent session; the broker keeps subscriptions and queued QoS 1 messages.</summary>
    public bool CleanStart { get; init; }

    /// <summary>How long the broker keeps the session after a disconnect (MQTT 5; 3.1.1 keeps it until a clean connect).</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Built on each connect; null: no will.</summary>
    public Func<MqttWill>? Will { get; init; }

    /// <summary>Made after every connect.</summary>
    public IReadOnlyList<MqttSubscription> Subscriptions { get; init; } = [];

    /// <summary>Upper bound for the TCP, TLS and MQTT handshake of one attempt, subscriptions included.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Upper bound for one publish (until PUBACK), ping or acknowledgement; a publish or ping over it drops the connection.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The reconnect back-off: 100 ms doubling to a 2 s cap by default (docs/operations.md says why).</summary>
    public Backoff Reconnect { get; init; } = DefaultReconnect;

    /// <summary>MQTT 5 Receive Maximum: how many QoS 1 messages the broker may have unacknowledged with us; 0: MQTTnet's default.</summary>
    public ushort ReceiveMaximum { get; init; }

    /// <summary>MQTT 5 Maximum Packet Size we accept; 0: no limit announced.</summary>
    public uint MaximumPacketSize { get; init; }

    /// <summary>The default reconnect back-off: first step 100 ms, cap 2 s.</summary>
    public static Backoff DefaultReconnect { get; } = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2));
}
