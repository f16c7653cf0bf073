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

    /// <summary>
    /// TLS to the broker (in production the centre, like every gateway, connects with its own client certificate,
    /// common name <c>centre</c> in the example ACL). Null for a plain loopback connection in demos and tests.
    /// </summary>
    public MqttClientTlsOptions? Tls { get; init; }
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
    private readonly SemaphoreSlim _lost = new(0);
    private readonly ConcurrentDictionary<string, HeartbeatMessage> _lastHeartbeat = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastHeard = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _life = new();
    private Task _supervisor = Task.CompletedTask;

    public CentreReceiver(CentreOptions options, TimeProvider time, ILogger log)
    {
        _options = options;
        _time = time;
        _log = log;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += e =>
        {
            if (e.ClientWasConnected && !_life.IsCancellationRequested)
            {
                _log.LogWarning("The centre lost its broker connection: {Reason} {Detail}", e.Reason, e.ReasonString ?? e.Exception?.Message);
                _lost.Release();
            }

            return Task.CompletedTask;
        };
    }

    /// <summary>Raised for every copy of an alarm as it arrived (before de-duplication), for audits and tests.</summary>
    public event Action<AlarmMessage>? AlarmCopyReceived;

    /// <summary>Raised for every alarm message; the flag says whether the id was already known.</summary>
    public event Action<ReceivedAlarm, bool>? AlarmReceived;

    public event Action<StatusMessage>? StatusReceived;

    public event Action<HeartbeatMessage>? HeartbeatReceived;

    public IReadOnlyCollection<ReceivedAlarm> Alarms => [.. _alarms.Values];

    /// <summary>Connects and subscribes, then keeps the connection up (reconnecting with back-off) until disposed.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ConnectAsync(cancellationToken);
        _supervisor = SuperviseAsync(_life.Token);
    }

    private async Task SuperviseAsync(CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // Woken by a lost connection; looks again every few seconds because MQTTnet 5 does not always say.
                await _lost.WaitAsync(TimeSpan.FromSeconds(2), ct);
                while (!_client.IsConnected && !ct.IsCancellationRequested)
                {
                    try
                    {
                        await ConnectAsync(ct);
                        backoff = TimeSpan.FromMilliseconds(100);
                        _log.LogInformation("The centre is connected to its broker again");
                    }
                    catch (Exception ex) when (!ct.IsCancellationRequested)
                    {
                        _log.LogWarning("The centre cannot connect to its broker {Host}:{Port}: {Reason}", _options.Host, _options.Port, ex.Message);
                        await Task.Delay(TimeSpan.FromMilliseconds(backoff.TotalMilliseconds * (0.5 + (Random.Shared.NextDouble() / 2))), ct);
                        backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.CentreId)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)TimeSpan.FromDays(1).TotalSeconds);
        if (_options.Username is not null)
        {
            options = options.WithCredentials(_options.Username, _options.Password);
        }

        if (_options.Tls is { } tls)
        {
            options = options.WithTlsOptions(tls);
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

        await _life.CancelAsync();
        await _supervisor;
        _life.Dispose();
        _lost.Dispose();
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
            await _client.PublishAsync(
                new MqttApplicationMessageBuilder()
                    .WithTopic(Topics.HeartbeatAck(heartbeat.GatewayId))
                    .WithPayload(ProtocolJson.Serialize(answer))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce)
                    .WithContentType("application/json")
                    .Build(),
                deadline.Token);
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
