using System.Collections.Concurrent;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;
using CareGateway.Mqtt;
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

    /// <summary>
    /// TLS to the broker (in production the centre, like every gateway, connects with its own client certificate,
    /// common name <c>centre</c> in the example ACL). Null for a plain loopback connection in demos and tests.
    /// </summary>
    public MqttTlsOptions? Tls { get; init; }
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
    private readonly CentreLink _link;
    private readonly ConcurrentDictionary<string, ReceivedAlarm> _alarms = new(StringComparer.Ordinal);
    private int _disposed;
    private readonly ConcurrentDictionary<string, HeartbeatMessage> _lastHeartbeat = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastHeard = new(StringComparer.Ordinal);

    public CentreReceiver(CentreOptions options, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time;
        _log = log;
        // The product's one MQTT connection part: reconnect back-off on the TimeProvider, resubscribe on connect, and a
        // message acknowledged only once it has been handled (the alarm stored and answered).
        _link = new CentreLink(options, options.CentreId, SubscriptionFilters(options), OnMessageAsync, time, log);
    }

    private static IEnumerable<string> SubscriptionFilters(CentreOptions options)
    {
        foreach (var leaf in new[] { Topics.AlarmLeaf, Topics.StatusLeaf, Topics.HeartbeatLeaf })
        {
            var filter = Topics.AllGateways(leaf);
            yield return options.SharedGroup is { } group && leaf == Topics.AlarmLeaf ? $"$share/{group}/{filter}" : filter;
        }
    }

    /// <summary>Raised for every copy of an alarm as it arrived (before de-duplication), for audits and tests.</summary>
    public event Action<AlarmMessage>? AlarmCopyReceived;

    /// <summary>Raised for every alarm message; the flag says whether the id was already known.</summary>
    public event Action<ReceivedAlarm, bool>? AlarmReceived;

    public event Action<StatusMessage>? StatusReceived;

    public event Action<HeartbeatMessage>? HeartbeatReceived;

    public IReadOnlyCollection<ReceivedAlarm> Alarms => [.. _alarms.Values];

    /// <summary>Connects and subscribes, then keeps the connection up (reconnecting with back-off) until disposed.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => _link.StartAsync(cancellationToken);

    /// <summary>Sends an acknowledgement step for an alarm (an operator's accepted or closed).</summary>
    public async Task AcknowledgeAsync(string gatewayId, string alarmId, AckState state, string by, string? note, CancellationToken cancellationToken)
    {
        var ack = new AckMessage { AlarmId = alarmId, GatewayId = gatewayId, State = state, By = by, At = _time.GetUtcNow(), Note = note };
        if (!await _link.PublishAsync(Topics.Ack(gatewayId), ProtocolJson.Serialize(ack), MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken))
        {
            throw new InvalidOperationException($"The broker did not take the '{state}' acknowledgement for {alarmId}: {_link.LastFailure ?? "not connected or refused"}");
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

        await _link.DisposeAsync();
    }

    private async Task OnMessageAsync(MqttDelivery delivery)
    {
        await HandleAsync(delivery.Topic, delivery.Payload);
        delivery.Acknowledge();
    }

    private async Task HandleAsync(string topic, byte[] payload)
    {
        if (!Topics.TryParse(topic, out var gatewayId, out var leaf))
        {
            _log.LogWarning("Ignoring message on {Topic}: not a gateway topic", topic);
            return;
        }

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
            case Topics.HeartbeatLeaf when ProtocolJson.TryParseHeartbeat(payload, out var heartbeat, out _) && heartbeat.GatewayId == gatewayId:
                _lastHeartbeat[gatewayId] = heartbeat;
                _lastHeard[gatewayId] = _time.GetUtcNow();
                await AnswerHeartbeatAsync(heartbeat);
                HeartbeatReceived?.Invoke(heartbeat);
                break;
            default:
                _log.LogWarning("Rejected message on {Topic}: not understood", topic);
                break;
        }
    }

    /// <summary>
    /// Gateways whose last heartbeat is older than <paramref name="missedIntervals"/> of their own announced intervals:
    /// the centre's view of a silent gateway (the retained <c>offline</c> status tells of a clean or detected loss).
    /// </summary>
    public IReadOnlyList<(string GatewayId, DateTimeOffset LastHeard)> SilentGateways(DateTimeOffset now, double missedIntervals = 3)
    {
        var silent = new List<(string, DateTimeOffset)>();
        foreach (var (gatewayId, heartbeat) in _lastHeartbeat)
        {
            var heard = _lastHeard.GetValueOrDefault(gatewayId);
            if (now - heard > TimeSpan.FromSeconds(heartbeat.IntervalSeconds * missedIntervals))
            {
                silent.Add((gatewayId, heard));
            }
        }

        return silent;
    }

    /// <summary>Every heartbeat is answered, so the gateway can tell a silent centre from a quiet night.</summary>
    private async Task AnswerHeartbeatAsync(HeartbeatMessage heartbeat)
    {
        var answer = new HeartbeatAckMessage { GatewayId = heartbeat.GatewayId, HeartbeatAt = heartbeat.At, At = _time.GetUtcNow(), By = _options.CentreId };
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _link.PublishAsync(Topics.HeartbeatAck(heartbeat.GatewayId), ProtocolJson.Serialize(answer), MqttQualityOfServiceLevel.AtMostOnce, deadline.Token);
        }
        catch (Exception ex)
        {
            _log.LogWarning("Could not answer the heartbeat of {GatewayId}: {Reason}", heartbeat.GatewayId, ex.Message);
        }
    }

    private async Task OnAlarmAsync(AlarmMessage alarm)
    {
        AlarmCopyReceived?.Invoke(alarm);
        var fresh = new ReceivedAlarm(alarm, _time.GetUtcNow());
        var stored = _alarms.GetOrAdd(alarm.AlarmId, fresh);
        var duplicate = !ReferenceEquals(stored, fresh);
        if (duplicate)
        {
            stored.Duplicates++;
        }

        // Stored (once); tell the gateway so it stops re-sending. A duplicate is answered again: the first answer may be lost.
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await AcknowledgeAsync(alarm.GatewayId, alarm.AlarmId, AckState.Received, _options.CentreId, null, deadline.Token);
            if (alarm.Type == AlarmType.Test && !duplicate)
            {
                // A test alarm needs no operator and is not journalled: the system closes it at once.
                await AcknowledgeAsync(alarm.GatewayId, alarm.AlarmId, AckState.Closed, _options.CentreId, "automatic end-to-end test", deadline.Token);
            }
        }
        catch (Exception ex)
        {
            // The alarm is stored; the gateway re-sends it until an answer gets through, and that copy is answered again.
            _log.LogWarning("Could not answer 'received' for alarm {AlarmId} of {GatewayId}: {Reason}", alarm.AlarmId, alarm.GatewayId, ex.Message);
        }

        AlarmReceived?.Invoke(stored, duplicate);
    }
}
