using CareGateway.Mqtt;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;

namespace CareGateway.Uplink;

/// <summary>
/// The care/v1 transport to the centre's broker (docs/protocol.md) on the product's <see cref="MqttConnection"/>: MQTT 5,
/// client id = gateway id, a persistent session, the retained <c>offline</c> status as last will and <c>online</c>
/// after every connect, subscriptions to <c>ack</c> and <c>command</c> (QoS 1) and <c>heartbeat-ack</c> (QoS 0).
/// What to send when is the <see cref="Forwarder"/>'s.
/// </summary>
public sealed class CareMqttTransport : IUplinkTransport
{
    private readonly UplinkOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly MqttConnection _connection;
    private volatile int _sendWindow = 1;
    private int _closed;

    public CareMqttTransport(UplinkOptions options, TimeProvider time, ILogger log, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        GatewayId.ThrowIfInvalid(options.GatewayId);
        _options = options;
        _time = time;
        _log = log;
        var gatewayId = options.GatewayId;
        _connection = new MqttConnection(
            new MqttConnectionOptions
            {
                Name = "the centre's broker",
                Endpoint = new MqttEndpoint(options.Host, options.Port),
                ClientId = gatewayId,
                Username = options.Username ?? (options.Password is null ? null : gatewayId),
                Password = options.Password is { } password ? () => password : null,
                Tls = options.Tls is { } tls ? new MqttTlsOptions { CaFile = tls.CaFile, CertFile = tls.CertFile, KeyFile = tls.KeyFile } : null,
                KeepAlive = options.KeepAlive,
                SessionExpiry = options.SessionExpiry,
                ConnectTimeout = options.ConnectTimeout,
                OperationTimeout = options.PublishTimeout,
                Reconnect = options.Reconnect,
                MaximumPacketSize = ProtocolJson.MaxPacketBytes,
                // Delayed (MQTT 5 Will Delay Interval): a gateway back on its session within the delay (a restart on a new
                // configuration that was stopped in the middle of a connect, a blip) gets no false 'offline' at the centre.
                Will = () => new MqttWill(Topics.Status(gatewayId), Status(GatewayState.Offline, _time.GetUtcNow()), MqttQualityOfServiceLevel.AtLeastOnce, Retain: true, DelaySeconds: WillDelaySeconds),
                Subscriptions =
                [
                    new MqttSubscription(Topics.Ack(gatewayId), MqttQualityOfServiceLevel.AtLeastOnce),
                    new MqttSubscription(CommandTopics.Command(gatewayId), MqttQualityOfServiceLevel.AtLeastOnce),
                    new MqttSubscription(Topics.HeartbeatAck(gatewayId), MqttQualityOfServiceLevel.AtMostOnce),
                ],
            },
            log,
            time,
            random);
        _connection.Received = OnReceivedAsync;
        _connection.SetUp = async (session, ct) =>
        {
            // The broker's Receive Maximum bounds our QoS 1 messages in flight (Mosquitto: max_inflight_messages, default
            // 20); exceeding it is a protocol error that ends the connection. Leave room for status and heartbeats.
            _sendWindow = Math.Clamp(session.BrokerReceiveMaximum - 4, 1, Forwarder.MaxSendWindow);
            if (!await _connection.PublishAsync(Topics.Status(gatewayId), Status(GatewayState.Online, session.Since), MqttQualityOfServiceLevel.AtLeastOnce, retain: true, ct))
            {
                throw new InvalidOperationException("the broker did not take the 'online' status");
            }
        };
        _connection.Connected += s => Connected?.Invoke(s);
        _connection.Disconnected += r => Disconnected?.Invoke(r);
        _connection.ConnectFailed += r => ConnectFailed?.Invoke(r);
    }

    /// <summary>How long after an unclean loss the broker publishes the will, unless the gateway is back on its session.</summary>
    public const uint WillDelaySeconds = 5;

    public string Name => "mqtt";

    public bool IsConnected => _connection.IsConnected;

    public MqttSession? Session => _connection.Session;

    public int SendWindow => _sendWindow;

    /// <summary>The connection underneath (sensor status publishing, diagnostics, tests).</summary>
    public MqttConnection Connection => _connection;

    public Func<TransportInput, Task>? Received { get; set; }

    public event Action<MqttSession>? Connected;

    public event Action<string>? Disconnected;

    public event Action<string>? ConnectFailed;

    public Task RunAsync(CancellationToken cancellationToken) => _connection.RunAsync(cancellationToken);

    public Task<bool> PublishAlarmAsync(AlarmMessage alarm, CancellationToken cancellationToken) =>
        _connection.PublishAsync(Topics.Alarm(_options.GatewayId), ProtocolJson.Serialize(alarm), MqttQualityOfServiceLevel.AtLeastOnce, retain: false, cancellationToken);

    public Task<bool> PublishHeartbeatAsync(HeartbeatMessage heartbeat, CancellationToken cancellationToken) =>
        _connection.PublishAsync(Topics.Heartbeat(_options.GatewayId), ProtocolJson.Serialize(heartbeat), MqttQualityOfServiceLevel.AtMostOnce, retain: false, cancellationToken);

    public Task<bool> PublishCommandResultAsync(byte[] payload, CancellationToken cancellationToken) =>
        _connection.PublishAsync(CommandTopics.Result(_options.GatewayId), payload, MqttQualityOfServiceLevel.AtLeastOnce, retain: false, cancellationToken);

    /// <summary>
    /// Publishes a retained QoS 1 message on a topic of this gateway (its sensors' state and health); false when not
    /// connected or the broker did not confirm. Not durable: the caller republishes after <see cref="Connected"/>.
    /// </summary>
    public Task<bool> PublishRetainedAsync(string topic, byte[] payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!topic.StartsWith(Topics.Prefix(_options.GatewayId) + "/", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{topic}' is not under this gateway's topic tree", nameof(topic));
        }

        return _connection.IsConnected
            ? _connection.PublishAsync(topic, payload, MqttQualityOfServiceLevel.AtLeastOnce, retain: true, cancellationToken)
            : Task.FromResult(false);
    }

    public async Task CloseAsync(bool handover)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        if (!_connection.IsConnected)
        {
            await _connection.CloseAsync(withWill: false);
            return;
        }

        if (handover)
        {
            // A normal DISCONNECT: the broker discards the will, the retained status stays 'online', and the next
            // gateway (same client id) connects at once on the same session.
            _log.LogInformation("Handing the connection to the centre over to the restarted gateway: no 'offline'");
            await _connection.CloseAsync(withWill: false);
            return;
        }

        // A clean stop says offline itself. If that does not get through (a loaded or failing link), the stop must not
        // be clean in MQTT's sense: a normal DISCONNECT makes the broker discard the last will, and the centre would see
        // the gateway online for ever. Then the gateway asks the broker to publish the will instead.
        var saidOffline = false;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            saidOffline = await _connection.PublishAsync(Topics.Status(_options.GatewayId), Status(GatewayState.Offline, _time.GetUtcNow()), MqttQualityOfServiceLevel.AtLeastOnce, retain: true, timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await _connection.CloseAsync(withWill: !saidOffline);
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync(handover: false);
        await _connection.DisposeAsync();
    }

    private byte[] Status(GatewayState state, DateTimeOffset since) =>
        ProtocolJson.Serialize(new StatusMessage { GatewayId = _options.GatewayId, State = state, Since = since, SoftwareVersion = _options.SoftwareVersion });

    private Task OnReceivedAsync(MqttDelivery delivery)
    {
        var topic = delivery.Topic;
        var input = Parse(delivery);
        if (input is null)
        {
            delivery.Acknowledge(); // rejected (and logged): nothing to keep it for
            return Task.CompletedTask;
        }

        if (Received is { } received)
        {
            return received(input);
        }

        delivery.Acknowledge();
        _log.LogDebug("Nobody takes messages on {Topic} yet", topic);
        return Task.CompletedTask;
    }

    private TransportInput? Parse(MqttDelivery delivery)
    {
        var topic = delivery.Topic;
        var payload = delivery.Payload;
        if (delivery.Oversized || payload.Length > ProtocolJson.MaxMessageBytes)
        {
            _log.LogWarning("Rejected a message on {Topic}: {Bytes} bytes is over the limit", topic, delivery.PayloadLength);
            return null;
        }

        if (topic == CommandTopics.Command(_options.GatewayId))
        {
            return new CommandInput(payload, delivery);
        }

        if (topic == Topics.HeartbeatAck(_options.GatewayId))
        {
            if (!ProtocolJson.TryParseHeartbeatAck(payload, out var answer, out var error))
            {
                _log.LogWarning("Rejected heartbeat answer: {Error}", error);
                return null;
            }

            return new HeartbeatAnswerInput(answer);
        }

        if (topic != Topics.Ack(_options.GatewayId))
        {
            _log.LogWarning("Ignoring a message on unexpected topic {Topic}", topic);
            return null;
        }

        if (!ProtocolJson.TryParseAck(payload, out var ack, out var why))
        {
            _log.LogWarning("Rejected acknowledgement on {Topic}: {Error}", topic, why);
            return null;
        }

        return new AckInput(ack, delivery);
    }
}
