using System.Buffers;
using System.Collections.Concurrent;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.ResponseCentre;

public sealed record CentreOptions
{
    public required string Host { get; init; }

    public required int Port { get; init; }

    /// <summary>The centre system's id; it signs the <c>received</c> acknowledgements.</summary>
    public string CentreId { get; init; } = "centre";

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>
    /// MQTT 5 shared-subscription group: several centre instances with the same group split the gateways' messages.
    /// Null subscribes plainly (the in-process demo broker refuses <c>$share/</c>).
    /// </summary>
    public string? SharedGroup { get; init; }
}

/// <summary>An alarm as the centre holds it.</summary>
public sealed class ReceivedAlarm(AlarmMessage alarm, DateTimeOffset receivedAt)
{
    public AlarmMessage Alarm { get; } = alarm;

    public DateTimeOffset ReceivedAt { get; } = receivedAt;

    /// <summary>Copies of the same alarm id that arrived after the first (re-sends, QoS 1 redeliveries).</summary>
    public int Duplicates { get; set; }

    public AckState State { get; set; } = AckState.Received;
}

/// <summary>
/// The centre's receiving end: subscribes to every gateway's alarm, status and heartbeat topics, keeps each alarm once
/// (by id), answers <c>received</c> as soon as it is stored, and sends an operator's <c>accepted</c> and <c>closed</c>.
/// </summary>
public sealed class CentreReceiver : IAsyncDisposable
{
    private readonly CentreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly IMqttClient _client;
    private readonly ConcurrentDictionary<string, ReceivedAlarm> _alarms = new(StringComparer.Ordinal);
    private int _disposed;

    public CentreReceiver(CentreOptions options, TimeProvider time, ILogger log)
    {
        _options = options;
        _time = time;
        _log = log;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
    }

    /// <summary>Raised for every alarm message; the flag says whether the id was already known.</summary>
    public event Action<ReceivedAlarm, bool>? AlarmReceived;

    public event Action<StatusMessage>? StatusReceived;

    public event Action<HeartbeatMessage>? HeartbeatReceived;

    public IReadOnlyCollection<ReceivedAlarm> Alarms => [.. _alarms.Values];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.CentreId)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)TimeSpan.FromDays(1).TotalSeconds);
        if (_options.Username is not null)
        {
            options = options.WithCredentials(_options.Username, _options.Password);
        }

        await _client.ConnectAsync(options.Build(), cancellationToken);
        var subscribe = new MqttClientSubscribeOptionsBuilder();
        foreach (var leaf in new[] { Topics.AlarmLeaf, Topics.StatusLeaf, Topics.HeartbeatLeaf })
        {
            var filter = Topics.AllGateways(leaf);
            if (_options.SharedGroup is { } group && leaf == Topics.AlarmLeaf)
            {
                filter = $"$share/{group}/{filter}";
            }

            subscribe = subscribe.WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        }

        await _client.SubscribeAsync(subscribe.Build(), cancellationToken);
    }

    /// <summary>Sends an acknowledgement step for an alarm (an operator's accepted or closed).</summary>
    public async Task AcknowledgeAsync(string gatewayId, string alarmId, AckState state, string by, string? note, CancellationToken cancellationToken)
    {
        var ack = new AckMessage { AlarmId = alarmId, GatewayId = gatewayId, State = state, By = by, At = _time.GetUtcNow(), Note = note };
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(Topics.Ack(gatewayId))
            .WithPayload(ProtocolJson.Serialize(ack))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build();
        var result = await _client.PublishAsync(message, cancellationToken);
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"The broker refused the '{state}' acknowledgement for {alarmId}: {result.ReasonCode} {result.ReasonString}");
        }

        if (_alarms.TryGetValue(alarmId, out var stored) && state > stored.State)
        {
            stored.State = state;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync();
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
            {
                // The broker is already gone; there is nobody left to say goodbye to.
                _log.LogDebug(ex, "Disconnect from the broker was not clean");
            }
        }

        _client.Dispose();
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        if (!Topics.TryParse(topic, out var gatewayId, out var leaf))
        {
            _log.LogWarning("Ignoring message on {Topic}: not a gateway topic", topic);
            return;
        }

        var payload = e.ApplicationMessage.Payload.ToArray();
        switch (leaf)
        {
            case Topics.AlarmLeaf:
                if (!ProtocolJson.TryParseAlarm(payload, out var alarm, out var error))
                {
                    _log.LogWarning("Rejected alarm on {Topic}: {Error}", topic, error);
                }
                else if (alarm.GatewayId != gatewayId)
                {
                    _log.LogWarning("Rejected alarm on {Topic}: it names gateway {Other}", topic, alarm.GatewayId);
                }
                else
                {
                    await OnAlarmAsync(alarm);
                }

                break;
            case Topics.StatusLeaf when ProtocolJson.TryParseStatus(payload, out var status, out _):
                StatusReceived?.Invoke(status);
                break;
            case Topics.HeartbeatLeaf when ProtocolJson.TryParseHeartbeat(payload, out var heartbeat, out _):
                HeartbeatReceived?.Invoke(heartbeat);
                break;
            default:
                _log.LogWarning("Rejected message on {Topic}: not understood", topic);
                break;
        }
    }

    private async Task OnAlarmAsync(AlarmMessage alarm)
    {
        var fresh = new ReceivedAlarm(alarm, _time.GetUtcNow());
        var stored = _alarms.GetOrAdd(alarm.AlarmId, fresh);
        var duplicate = !ReferenceEquals(stored, fresh);
        if (duplicate)
        {
            stored.Duplicates++;
        }

        // Stored (once); tell the gateway so it stops re-sending. A duplicate is answered again: the first answer may be lost.
        await AcknowledgeAsync(alarm.GatewayId, alarm.AlarmId, AckState.Received, _options.CentreId, null, CancellationToken.None);
        AlarmReceived?.Invoke(stored, duplicate);
    }
}
