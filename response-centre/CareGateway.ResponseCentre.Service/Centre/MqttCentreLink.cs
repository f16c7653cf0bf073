using System.Buffers;
using CareGateway.Protocol;
using Microsoft.Extensions.Hosting;
using CareGateway.Mqtt;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>
/// The service's connection to the broker, on the product's <see cref="MqttConnection"/>: a persistent MQTT 5 session,
/// subscriptions to every gateway's alarm, heartbeat, command-result and status topics (all but status as a shared subscription
/// when a group is set), reconnection with back-off, and the publisher of acknowledgements. Messages go to
/// <see cref="CentreCore"/>; each is acknowledged to the broker once it is stored.
/// </summary>
public sealed class MqttCentreLink : BackgroundService, IAckSender, ICommandSender
{
    private readonly MqttSettings _settings;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttCentreLink> _log;
    private readonly string _centreId;
    private readonly MqttConnection _client;
    private readonly TaskCompletionSource _firstConnect = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MqttCentreLink(CentreSettings settings, IServiceProvider services, TimeProvider time, ILogger<MqttCentreLink> log)
    {
        _settings = settings.Mqtt;
        _centreId = settings.CentreId;
        _services = services;
        _time = time;
        _log = log;
        var s = _settings;
        if ((s.CertFile is null) != (s.KeyFile is null))
        {
            throw new InvalidOperationException("Centre:Mqtt:CertFile and Centre:Mqtt:KeyFile go together: set both for a client certificate, or neither");
        }

        _client = new MqttConnection(
            new MqttConnectionOptions
            {
                Name = "the broker",
                Endpoint = new MqttEndpoint(s.Host, s.Port),
                ClientId = s.ClientId ?? $"response-centre-{Environment.MachineName.ToLowerInvariant()}",
                Username = s.Username,
                Password = s.Password is { } password ? () => password : null,
                Tls = s.Tls ? new MqttTlsOptions { CaFile = s.CaFile, CertFile = s.CertFile, KeyFile = s.KeyFile, TargetHost = s.TlsServerName } : null,
                KeepAlive = TimeSpan.FromSeconds(s.KeepAliveSeconds),
                SessionExpiry = TimeSpan.FromDays(1),
                ConnectTimeout = TimeSpan.FromSeconds(15),
                MaximumPacketSize = s.MaximumPacketSize,
                Reconnect = new Resilience.Backoff(TimeSpan.FromMilliseconds(s.ReconnectMinMilliseconds), TimeSpan.FromMilliseconds(s.ReconnectMaxMilliseconds)),
                Subscriptions = [.. SubscriptionFilters(s.SharedGroup).Select(f => new MqttSubscription(f, MqttQualityOfServiceLevel.AtLeastOnce))],
            },
            log,
            time);
        _client.Received = OnMessageAsync;
        _client.Connected += _ =>
        {
            _log.LogInformation("Connected to the broker at {Host}:{Port} (shared group: {Group})", s.Host, s.Port, string.IsNullOrEmpty(s.SharedGroup) ? "none" : s.SharedGroup);
            _firstConnect.TrySetResult();
            _reconnected.Release();
        };
    }

    private readonly SemaphoreSlim _reconnected = new(0);

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

        var sent = await _client.PublishAsync(Topics.Ack(ack.GatewayId), ProtocolJson.Serialize(ack), MqttQualityOfServiceLevel.AtLeastOnce, retain: false, ct);
        if (!sent)
        {
            _log.LogWarning("Could not publish the '{State}' acknowledgement for {AlarmId}; it is sent again after the next connect", ack.State, ack.AlarmId);
        }

        return sent;
    }

    public async Task<bool> TrySendCommandAsync(string gatewayId, byte[] payload, CancellationToken ct) =>
        _client.IsConnected && await _client.PublishAsync(CommandTopics.Command(gatewayId), payload, MqttQualityOfServiceLevel.AtLeastOnce, retain: false, ct);

    private GatewayCommands Commands => (GatewayCommands)_services.GetService(typeof(GatewayCommands))!;

    /// <summary>
    /// Tells the gateway that somebody is listening behind the broker (docs/protocol.md, heartbeat acknowledgement):
    /// QoS 0, a lost answer is covered by the next one.
    /// </summary>
    private async Task AnswerHeartbeatAsync(HeartbeatMessage heartbeat, CancellationToken ct)
    {
        var answer = new HeartbeatAckMessage { GatewayId = heartbeat.GatewayId, HeartbeatAt = heartbeat.At, At = _time.GetUtcNow(), By = _centreId };
        if (!await _client.PublishAsync(Topics.HeartbeatAck(heartbeat.GatewayId), ProtocolJson.Serialize(answer), MqttQualityOfServiceLevel.AtMostOnce, retain: false, ct))
        {
            _log.LogDebug("Could not answer the heartbeat of {GatewayId}", heartbeat.GatewayId);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _client.CloseAsync(withWill: false);
    }

    public override void Dispose()
    {
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _reconnected.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var running = _client.RunAsync(stoppingToken);
        try
        {
            // After every connect: acknowledgements that could not be sent while the broker was away go out now.
            while (!stoppingToken.IsCancellationRequested)
            {
                await _reconnected.WaitAsync(stoppingToken);
                try
                {
                    await Core.RetryUnsentAcksAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _log.LogError(ex, "Could not send the acknowledgements left unsent");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await running;
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
            Shared(Topics.AllGateways(CommandTopics.ResultLeaf)),
            Topics.AllGateways(Topics.StatusLeaf),
        ];
    }

    /// <summary>
    /// Messages come one at a time. An alarm is only queued for the group commit here (the handler returns at once, so
    /// alarms arriving together share one commit); it is acknowledged to the broker once it is stored, and the
    /// connection sends the PUBACKs in the order the messages came. Heartbeats are queued the same way (recorded in the
    /// same transactions, answered after); status messages are handled before the next message.
    /// </summary>
    private async Task OnMessageAsync(MqttDelivery delivery)
    {
        var topic = delivery.Topic;
        if (delivery.Oversized)
        {
            _log.LogWarning("Rejected message on {Topic}: {Length} bytes, over the Maximum Packet Size of {Limit} (not read)", LogText.Escape(topic), delivery.PayloadLength, _settings.MaximumPacketSize);
            delivery.Acknowledge();
            return;
        }

        Task work;
        try
        {
            work = await DispatchAsync(topic, delivery.Payload, CancellationToken.None);
        }
        catch (Exception ex)
        {
            work = Task.FromException(ex);
        }

        _ = work.ContinueWith(
            t =>
            {
                if (t.IsFaulted)
                {
                    // Not stored, so not answered: the gateway sends the alarm again until it gets 'received'.
                    _log.LogError(t.Exception, "Could not handle the message on {Topic}", LogText.Escape(topic));
                }

                delivery.Acknowledge();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
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
            _log.LogWarning("Ignoring message on {Topic}: not a gateway topic", LogText.Escape(topic));
            return Task.CompletedTask;
        }

        switch (leaf)
        {
            case Topics.AlarmLeaf when ProtocolJson.TryParseAlarm(payload, out var alarm, out _):
                if (alarm.GatewayId != gatewayId)
                {
                    _log.LogWarning("Rejected alarm on {Topic}: it names gateway {Other}", topic, alarm.GatewayId); // both checked: no control characters
                    return Task.CompletedTask;
                }

                return Core.OnAlarmAsync(alarm, ct);
            case Topics.StatusLeaf when ProtocolJson.TryParseStatus(payload, out var status, out _) && status.GatewayId == gatewayId:
                await Core.OnStatusAsync(status, ct);
                break;
            case Topics.HeartbeatLeaf when ProtocolJson.TryParseHeartbeat(payload, out var heartbeat, out _) && heartbeat.GatewayId == gatewayId:
                return RecordAndAnswerAsync(heartbeat, ct);
            case CommandTopics.ResultLeaf when CommandJson.TryParseResult(payload, out var result, out _) && result.GatewayId == gatewayId:
                return Commands.OnResultAsync(result, ct);
            default:
                var reason = leaf switch
                {
                    Topics.AlarmLeaf => ProtocolJson.TryParseAlarm(payload, out _, out var why) ? "gateway id differs from the topic" : why,
                    Topics.StatusLeaf => ProtocolJson.TryParseStatus(payload, out _, out var why) ? "gateway id differs from the topic" : why,
                    Topics.HeartbeatLeaf => ProtocolJson.TryParseHeartbeat(payload, out _, out var why) ? "gateway id differs from the topic" : why,
                    CommandTopics.ResultLeaf => CommandJson.TryParseResult(payload, out _, out var why) ? "gateway id differs from the topic" : why,
                    _ => "unknown topic leaf",
                };
                // The reason may quote the payload's values: escaped, so that a newline in a field cannot forge a log line.
                _log.LogWarning("Rejected message on {Topic}: {Reason}", topic, LogText.Escape(reason));
                break;
        }

        return Task.CompletedTask;
    }
}
