using System.Buffers;
using CareGateway.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>
/// The service's connection to the broker: a persistent MQTT 5 session, subscriptions to every gateway's alarm,
/// heartbeat and status topics (alarms and heartbeats as a shared subscription when a group is set), reconnection
/// with back-off, and the publisher of acknowledgements. Messages go to <see cref="CentreCore"/>.
/// </summary>
public sealed class MqttCentreLink : BackgroundService, IAckSender
{
    private readonly MqttSettings _settings;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttCentreLink> _log;
    private readonly string _centreId;
    private readonly IMqttClient _client;
    private readonly TaskCompletionSource _firstConnect = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MqttCentreLink(CentreSettings settings, IServiceProvider services, TimeProvider time, ILogger<MqttCentreLink> log)
    {
        _settings = settings.Mqtt;
        _centreId = settings.CentreId;
        _services = services;
        _time = time;
        _log = log;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
    }

    /// <summary>Completes once the first connection and its subscriptions are up.</summary>
    public Task Connected => _firstConnect.Task;

    public bool IsConnected => _client.IsConnected;

    private CentreCore Core => (CentreCore)_services.GetService(typeof(CentreCore))!;

    public async Task<bool> TrySendAsync(AckMessage ack, CancellationToken ct)
    {
        if (!_client.IsConnected)
        {
            return false;
        }

        var message = new MqttApplicationMessageBuilder()
            .WithTopic(Topics.Ack(ack.GatewayId))
            .WithPayload(ProtocolJson.Serialize(ack))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build();
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            var result = await _client.PublishAsync(message, deadline.Token);
            if (!result.IsSuccess)
            {
                _log.LogWarning("The broker refused the '{State}' acknowledgement for {AlarmId}: {Reason}", ack.State, ack.AlarmId, result.ReasonCode);
            }

            return result.IsSuccess;
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            _log.LogWarning("Could not publish the '{State}' acknowledgement for {AlarmId}: {Error}", ack.State, ack.AlarmId, ex.Message);
            return false;
        }
    }

    /// <summary>
    /// Tells the gateway that somebody is listening behind the broker (docs/protocol.md, heartbeat acknowledgement):
    /// QoS 0, a lost answer is covered by the next one.
    /// </summary>
    private async Task AnswerHeartbeatAsync(HeartbeatMessage heartbeat, CancellationToken ct)
    {
        var answer = new HeartbeatAckMessage { GatewayId = heartbeat.GatewayId, HeartbeatAt = heartbeat.At, At = _time.GetUtcNow(), By = _centreId };
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(Topics.HeartbeatAck(heartbeat.GatewayId))
            .WithPayload(ProtocolJson.Serialize(answer))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce)
            .WithContentType("application/json")
            .Build();
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            await _client.PublishAsync(message, deadline.Token);
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            _log.LogDebug("Could not answer the heartbeat of {GatewayId}: {Error}", heartbeat.GatewayId, ex.Message);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync(cancellationToken: cancellationToken);
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
            {
                _log.LogDebug(ex, "Disconnect from the broker was not clean");
            }
        }
    }

    public override void Dispose()
    {
        _pubAcks.Writer.TryComplete();
        _client.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            if (!_client.IsConnected)
            {
                try
                {
                    await ConnectAsync(stoppingToken);
                    backoff = TimeSpan.FromSeconds(1);
                    _firstConnect.TrySetResult();
                    await Core.RetryUnsentAcksAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    _log.LogWarning("Cannot reach the broker at {Host}:{Port}: {Error}; retrying in {Backoff}", _settings.Host, _settings.Port, ex.Message, backoff);
                    await Task.Delay(backoff, _time, stoppingToken);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                    continue;
                }
            }

            // MQTTnet 5 does not always report a lost connection: look now and then.
            await Task.Delay(TimeSpan.FromSeconds(2), _time, stoppingToken);
        }
    }

    private async Task ConnectAsync(CancellationToken ct)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_settings.Host, _settings.Port)
            .WithClientId(_settings.ClientId ?? $"response-centre-{Environment.MachineName.ToLowerInvariant()}")
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)TimeSpan.FromDays(1).TotalSeconds)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (_settings.Username is not null)
        {
            builder = builder.WithCredentials(_settings.Username, _settings.Password);
        }

        if (_settings.UseTls)
        {
            builder = builder.WithTlsOptions(o => o.UseTls());
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(15));
        await _client.ConnectAsync(builder.Build(), deadline.Token);

        var subscribe = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in SubscriptionFilters(_settings.SharedGroup))
        {
            subscribe = subscribe.WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        }

        var result = await _client.SubscribeAsync(subscribe.Build(), deadline.Token);
        foreach (var item in result.Items)
        {
            if ((int)item.ResultCode > (int)MqttClientSubscribeResultCode.GrantedQoS2)
            {
                throw new InvalidOperationException($"The broker refused the subscription {item.TopicFilter.Topic}: {item.ResultCode}");
            }
        }

        _log.LogInformation("Connected to the broker at {Host}:{Port} (shared group: {Group})", _settings.Host, _settings.Port, string.IsNullOrEmpty(_settings.SharedGroup) ? "none" : _settings.SharedGroup);
    }

    /// <summary>
    /// Alarms and heartbeats are shared among the instances of a group (each message to one of them). Status stays a
    /// plain subscription: a shared subscription gets no retained messages, and every instance should learn each
    /// gateway's state when it starts.
    /// </summary>
    public static IReadOnlyList<string> SubscriptionFilters(string? sharedGroup)
    {
        string Shared(string filter) => string.IsNullOrEmpty(sharedGroup) ? filter : $"$share/{sharedGroup}/{filter}";
        return
        [
            Shared(Topics.AllGateways(Topics.AlarmLeaf)),
            Shared(Topics.AllGateways(Topics.HeartbeatLeaf)),
            Topics.AllGateways(Topics.StatusLeaf),
        ];
    }

    /// <summary>
    /// MQTTnet hands messages over one at a time. An alarm is only queued for the group commit here (the handler returns
    /// at once, so alarms arriving together share one commit); its PUBACK to the broker waits until it is stored, and
    /// PUBACKs go out in the order the messages came (<see cref="PubAckLoopAsync"/>). Heartbeats are queued the same
    /// way (recorded in the same transactions, answered after); status messages are handled before the next message.
    /// </summary>
    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        Task work;
        try
        {
            work = await DispatchAsync(topic, e.ApplicationMessage.Payload.ToArray(), CancellationToken.None);
        }
        catch (Exception ex)
        {
            work = Task.FromException(ex);
        }

        if (_pubAckLoop is null)
        {
            lock (_pubAcks)
            {
                _pubAckLoop ??= Task.Run(PubAckLoopAsync, CancellationToken.None);
            }
        }

        if (e.ApplicationMessage.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce)
        {
            // Nothing to acknowledge to the broker (heartbeats): only see that a failure is logged.
            _ = work.ContinueWith(t => _log.LogError(t.Exception, "Could not handle the message on {Topic}", topic),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return;
        }

        e.AutoAcknowledge = false;
        _pubAcks.Writer.TryWrite((topic, work, e));
    }

    private readonly System.Threading.Channels.Channel<(string Topic, Task Work, MqttApplicationMessageReceivedEventArgs Message)> _pubAcks =
        System.Threading.Channels.Channel.CreateUnbounded<(string, Task, MqttApplicationMessageReceivedEventArgs)>(new() { SingleReader = true });

    private Task? _pubAckLoop;

    private async Task PubAckLoopAsync()
    {
        await foreach (var (topic, work, message) in _pubAcks.Reader.ReadAllAsync())
        {
            try
            {
                await work;
            }
            catch (Exception ex)
            {
                // Not stored, so not answered: the gateway sends the alarm again until it gets 'received'.
                _log.LogError(ex, "Could not handle the message on {Topic}", topic);
            }

            try
            {
                await message.AcknowledgeAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                // The connection went away: the broker delivers the message again on the persistent session; a copy.
                _log.LogDebug("Could not acknowledge the message on {Topic} to the broker: {Error}", topic, ex.Message);
            }
        }
    }

    /// <summary>A heartbeat is answered once it is recorded (with whatever else the intake's writer committed with it).</summary>
    private async Task RecordAndAnswerAsync(HeartbeatMessage heartbeat, CancellationToken ct)
    {
        await Core.OnHeartbeatAsync(heartbeat, ct);
        await AnswerHeartbeatAsync(heartbeat, ct);
    }

    /// <summary>Handles one message; for an alarm or a heartbeat, returns the task of its storing (queued, not awaited here).</summary>
    private async Task<Task> DispatchAsync(string topic, byte[] payload, CancellationToken ct)
    {
        if (!Topics.TryParse(topic, out var gatewayId, out var leaf))
        {
            _log.LogWarning("Ignoring message on {Topic}: not a gateway topic", topic);
            return Task.CompletedTask;
        }

        switch (leaf)
        {
            case Topics.AlarmLeaf when ProtocolJson.TryParseAlarm(payload, out var alarm, out _):
                if (alarm.GatewayId != gatewayId)
                {
                    _log.LogWarning("Rejected alarm on {Topic}: it names gateway {Other}", topic, alarm.GatewayId);
                    return Task.CompletedTask;
                }

                return Core.OnAlarmAsync(alarm, ct);
            case Topics.StatusLeaf when ProtocolJson.TryParseStatus(payload, out var status, out _) && status.GatewayId == gatewayId:
                await Core.OnStatusAsync(status, ct);
                break;
            case Topics.HeartbeatLeaf when ProtocolJson.TryParseHeartbeat(payload, out var heartbeat, out _) && heartbeat.GatewayId == gatewayId:
                return RecordAndAnswerAsync(heartbeat, ct);
            default:
                var reason = leaf switch
                {
                    Topics.AlarmLeaf => ProtocolJson.TryParseAlarm(payload, out _, out var why) ? "gateway id differs from the topic" : why,
                    Topics.StatusLeaf => ProtocolJson.TryParseStatus(payload, out _, out var why) ? "gateway id differs from the topic" : why,
                    Topics.HeartbeatLeaf => ProtocolJson.TryParseHeartbeat(payload, out _, out var why) ? "gateway id differs from the topic" : why,
                    _ => "unknown topic leaf",
                };
                _log.LogWarning("Rejected message on {Topic}: {Reason}", topic, reason);
                break;
        }

        return Task.CompletedTask;
    }
}
