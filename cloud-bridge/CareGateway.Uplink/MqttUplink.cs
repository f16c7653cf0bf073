using System.Buffers;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.Uplink;

/// <summary>
/// The connection to the centre. It keeps itself connected (MQTT 5, persistent session, retained <c>online</c> status,
/// <c>offline</c> as last will), sends every pending alarm from the <see cref="SqliteOutbox"/> with QoS 1, re-sends any
/// alarm the centre has not acknowledged as received within <see cref="UplinkOptions.ResendAfter"/>, records
/// acknowledgements in the outbox, and sends heartbeats. MQTTnet 5 has no managed client: reconnecting is ours.
/// </summary>
public sealed partial class MqttUplink : IAsyncDisposable
{
    private readonly UplinkOptions _options;
    private readonly SqliteOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CentreSupervisor _supervisor;
    private readonly Lock _supervisorGate = new();
    private TimeSpan? _lastHeartbeatRoundTrip;
    private (DateTimeOffset At, TimeSpan RoundTrip)? _lastTest;
    private int _storageFaultReported;
    private readonly IMqttClient _client;
    private readonly SemaphoreSlim _sendSignal = new(0);
    private readonly SemaphoreSlim _connectionLost = new(0);
    private readonly System.Threading.Channels.Channel<(AckMessage, MqttApplicationMessageReceivedEventArgs)> _acks =
        System.Threading.Channels.Channel.CreateUnbounded<(AckMessage, MqttApplicationMessageReceivedEventArgs)>(new() { SingleReader = true });
    private readonly DateTimeOffset _startedAt;
    private volatile bool _stopping;
    private DateTimeOffset _connectedSince = DateTimeOffset.MinValue;
    private volatile bool _sessionReady;
    private int _connectFailures;
    private int _sendWindow = 1;

    /// <summary>The most alarms in flight (published, PUBACK not yet back) at once.</summary>
    public const int MaxSendWindow = 16;

    public MqttUplink(UplinkOptions options, SqliteOutbox outbox, TimeProvider time, ILogger log, ILocalIndicator? indicator = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        GatewayId.ThrowIfInvalid(options.GatewayId);
        _options = options;
        _outbox = outbox;
        _time = time;
        _log = log;
        Indicator = indicator ?? new LoggingIndicator(log);
        _supervisor = new CentreSupervisor(options, new RelayIndicator(this));
        _outbox.StorageWarning += OnStorageWarning;
        _startedAt = time.GetUtcNow();
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += e =>
        {
            if (e.ClientWasConnected && !_stopping)
            {
                var reason = Loops.Describe(e.Reason.ToString(), e.ReasonString, e.Exception);
                _log.LogWarning("Connection to the centre's broker lost: {Reason}", reason);
                Disconnected?.Invoke(reason);
                lock (_supervisorGate)
                {
                    _supervisor.ConnectionDown(_time.GetUtcNow());
                }
            }

            _connectionLost.Release();
            return Task.CompletedTask;
        };
    }

    /// <summary>Raised after an acknowledgement from the centre was recorded (or found already known).</summary>
    public event Action<AckMessage, AckOutcome>? AckReceived;

    /// <summary>Raised after an alarm was published and the broker confirmed it (PUBACK).</summary>
    public event Action<AlarmMessage>? AlarmSent;

    /// <summary>Raised when the connection comes up.</summary>
    public event Action? Connected;

    /// <summary>Raised when an established connection is lost, with the reason as far as it is known.</summary>
    public event Action<string>? Disconnected;

    /// <summary>Raised when a connection attempt fails, with the reason; the uplink tries again after a back-off.</summary>
    public event Action<string>? ConnectFailed;

    public bool IsConnected => _client.IsConnected;

    /// <summary>How many alarms this connection may have in flight at once (from the broker's Receive Maximum).</summary>
    internal int SendWindow => _sendWindow;

    /// <summary>
    /// Where local warnings go: a buzzer and LEDs on real hardware (set it once the outputs exist), by default a
    /// <see cref="LoggingIndicator"/>. Only changes are shown; the active set is in <see cref="Diagnostics"/>.
    /// </summary>
    public ILocalIndicator Indicator { get; set; }

    /// <summary>Wakes the sender: a new alarm is in the outbox.</summary>
    public void NotifyNewAlarm() => _sendSignal.Release();

    /// <summary>
    /// Publishes a retained QoS 1 message on a topic of this gateway (for example its sensors' state and health); false when
    /// not connected or the broker did not confirm. Not durable: the caller republishes after <see cref="Connected"/>.
    /// </summary>
    public Task<bool> PublishRetainedAsync(string topic, byte[] payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!topic.StartsWith(Topics.Prefix(_options.GatewayId) + "/", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{topic}' is not under this gateway's topic tree", nameof(topic));
        }

        return _client.IsConnected
            ? PublishAsync(topic, payload, MqttQualityOfServiceLevel.AtLeastOnce, retain: true, cancellationToken)
            : Task.FromResult(false);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var connection = KeepRunningAsync("connection", KeepConnectedAsync, cancellationToken);
        var sender = KeepRunningAsync("sender", SendLoopAsync, cancellationToken);
        var heartbeat = KeepRunningAsync("heartbeat", HeartbeatLoopAsync, cancellationToken);
        var supervision = KeepRunningAsync("supervision", SupervisionLoopAsync, cancellationToken);
        var test = KeepRunningAsync("test alarm", TestAlarmLoopAsync, cancellationToken);
        var acks = KeepRunningAsync("acknowledgement", AckLoopAsync, cancellationToken);
        try
        {
            await Task.WhenAll(connection, sender, heartbeat, supervision, test, acks);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await DisconnectCleanlyAsync();
        }
    }

    /// <summary>
    /// Runs one of the uplink's loops and starts it again if it fails (a disk error, a bug): the gateway keeps running
    /// on its last good state, and the failure is logged loudly.
    /// </summary>
    private async Task KeepRunningAsync(string name, Func<CancellationToken, Task> loop, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await loop(ct);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                _log.LogError(ex, "The uplink's {Loop} loop failed ({Reason}); starting it again", name, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, ct);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DisconnectCleanlyAsync();
        _client.Dispose();
        _sendSignal.Dispose();
        _connectionLost.Dispose();
    }

    private async Task KeepConnectedAsync(CancellationToken ct)
    {
        var backoff = _options.ReconnectMin;
        while (!ct.IsCancellationRequested)
        {
            if (!_client.IsConnected)
            {
                lock (_supervisorGate)
                {
                    _supervisor.ConnectionDown(_time.GetUtcNow()); // also when MQTTnet did not report the loss
                }

                if (await TryConnectAsync(ct))
                {
                    backoff = _options.ReconnectMin;
                    _connectFailures = 0;
                    _sendSignal.Release();
                    lock (_supervisorGate)
                    {
                        _supervisor.ConnectionUp(_time.GetUtcNow());
                    }

                    Connected?.Invoke();
                }
                else
                {
                    // Exponential back-off with full jitter, so that a fleet does not reconnect in lockstep after a broker restart.
                    _connectFailures++;
                    var wait = Jitter(backoff, _options.ReconnectMin, Random.Shared.NextDouble());
                    _log.LogInformation("Next connection attempt in {Wait} (attempt {Attempt} failed)", wait, _connectFailures);
                    await Task.Delay(wait, _time, ct);
                    backoff = NextBackoff(backoff, _options.ReconnectMax);
                    continue;
                }
            }

            // Wait for the client to report a lost connection, and look again now and then in case it did not:
            // MQTTnet 5 does not always raise DisconnectedAsync, and a half-open TCP connection looks connected.
            await Sensors.SignalWait.WaitAsync(_connectionLost, _options.KeepAlive, _time, ct);
            if (_client.IsConnected && !await PingAsync(ct))
            {
                await DropConnectionAsync("the broker did not answer a ping");
            }
        }
    }

    /// <summary>Jitter: a uniformly random wait in [min/2, backoff] for <paramref name="random"/> in [0, 1), so a fleet spreads out after a broker restart.</summary>
    public static TimeSpan Jitter(TimeSpan backoff, TimeSpan min, double random)
    {
        var floor = min.Ticks / 2;
        return TimeSpan.FromTicks(floor + (long)(random * Math.Max(0, backoff.Ticks - floor)));
    }

    /// <summary>Exponential back-off: the step doubles after each failed attempt, up to <paramref name="max"/>.</summary>
    public static TimeSpan NextBackoff(TimeSpan backoff, TimeSpan max) => TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, max.Ticks));

    private async Task<bool> PingAsync(CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.PublishTimeout);
        try
        {
            return await _client.TryPingAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Closes a connection that is no longer trusted (a publish or ping timed out); the connection loop reconnects.</summary>
    private async Task DropConnectionAsync(string why)
    {
        if (_stopping)
        {
            return;
        }

        _log.LogWarning("Dropping the connection to the centre's broker: {Reason}", why);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            // With the will: Mosquitto discards the last will on any other DISCONNECT reason, and the centre would not
            // learn that this connection ended.
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.DisconnectWithWillMessage).Build(), timeout.Token);
        }
        catch (Exception ex)
        {
            _log.LogDebug(ex, "Disconnect after {Reason} was not clean", why);
        }

        _connectionLost.Release();
    }

    private async Task<bool> TryConnectAsync(CancellationToken ct)
    {
        // Until this connection is set up (acknowledgements subscribed), nothing is sent on it: an answer to an alarm
        // sent earlier could be missed. Alarms sent before 'since' belong to an older connection and are sent again.
        _sessionReady = false;
        var since = _time.GetUtcNow();
        var will = ProtocolJson.Serialize(new StatusMessage
        {
            GatewayId = _options.GatewayId,
            State = GatewayState.Offline,
            Since = since,
            SoftwareVersion = _options.SoftwareVersion,
        });

        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.GatewayId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)_options.SessionExpiry.TotalSeconds)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(_options.ConnectTimeout)
            .WithWillTopic(Topics.Status(_options.GatewayId))
            .WithWillPayload(will)
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (_options.Tls is { } tls)
        {
            builder = builder.WithTlsOptions(BrokerTls.Build(tls, _options.Host, problem => _log.LogWarning("Refusing the broker {Host}:{Port}: {Problem}", _options.Host, _options.Port, problem)));
        }

        if (_options.Password is not null || _options.Username is not null)
        {
            builder = builder.WithCredentials(_options.Username ?? _options.GatewayId, _options.Password);
        }

        try
        {
            // MqttClientOptions.Timeout does not bound the wait for CONNACK on a silent path: give the attempt its own deadline.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(_options.ConnectTimeout);
            var result = await _client.ConnectAsync(builder.Build(), deadline.Token);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                var why = Loops.Describe(result.ResultCode.ToString(), result.ReasonString, null);
                _log.LogWarning("The broker {Host}:{Port} refused the connection: {Reason}", _options.Host, _options.Port, why);
                ConnectFailed?.Invoke(why);
                return false;
            }

            // Subscribe every time: cheap, and right whether or not the broker kept the session.
            var subscribe = new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(f => f.WithTopic(Topics.Ack(_options.GatewayId)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                .WithTopicFilter(f => f.WithTopic(CommandTopics.Command(_options.GatewayId)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                .WithTopicFilter(f => f.WithTopic(Topics.HeartbeatAck(_options.GatewayId)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
                .Build();
            var subscribed = await _client.SubscribeAsync(subscribe, deadline.Token);
            if (subscribed.Items.Any(i => i.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2))
            {
                var why = string.Join(", ", subscribed.Items.Select(i => $"{i.TopicFilter.Topic}: {i.ResultCode}"));
                throw new InvalidOperationException($"the broker refused the subscription to the acknowledgements ({why}); check the broker's ACL");
            }

            // The broker's Receive Maximum bounds our QoS 1 messages in flight (Mosquitto: max_inflight_messages, default
            // 20); exceeding it is a protocol error that ends the connection. Leave room for status and heartbeats.
            int receiveMaximum = result.ReceiveMaximum is > 0 and var max ? max : ushort.MaxValue;
            _sendWindow = Math.Clamp(receiveMaximum - 4, 1, MaxSendWindow);
            _connectedSince = since;
            _sessionReady = true;
            await PublishAsync(
                Topics.Status(_options.GatewayId),
                ProtocolJson.Serialize(new StatusMessage { GatewayId = _options.GatewayId, State = GatewayState.Online, Since = since, SoftwareVersion = _options.SoftwareVersion }),
                MqttQualityOfServiceLevel.AtLeastOnce,
                retain: true,
                ct);
            _log.LogInformation("Connected to {Host}:{Port} as {GatewayId} (session kept by broker: {SessionPresent})", _options.Host, _options.Port, _options.GatewayId, result.IsSessionPresent);
            return true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            var why = ex is OperationCanceledException ? $"no answer from the broker within {_options.ConnectTimeout}" : Loops.Describe(null, null, ex);
            _log.LogWarning("Cannot connect to {Host}:{Port}: {Reason}", _options.Host, _options.Port, why);
            ConnectFailed?.Invoke(why);
            if (_client.IsConnected)
            {
                await DropConnectionAsync("the connection could not be set up");
            }

            return false;
        }
    }

    private async Task SendLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var wait = _options.ResendAfter;
            if (_client.IsConnected && _sessionReady)
            {
                // After a failure, wait for a wake-up (a new alarm, a reconnect) or ResendAfter, never spin.
                wait = await SendDueAsync(ct) ? UntilNextResend() : _options.ResendAfter;
            }

            await Sensors.SignalWait.WaitAsync(_sendSignal, wait, _time, ct);
        }
    }

    /// <summary>
    /// Sends every alarm that is due, in batches (most urgent first), until none is left or the connection fails. A
    /// batch is published as a window of QoS 1 messages in flight together (started in order, so the broker gets them
    /// in order), then its send attempts are recorded in one transaction: a backlog of thousands drains at the
    /// broker's pace rather than one round trip per alarm.
    /// </summary>
    /// <returns>True when everything due was sent; false when a publish or its bookkeeping failed.</returns>
    private async Task<bool> SendDueAsync(CancellationToken ct)
    {
        while (_client.IsConnected && _sessionReady && !ct.IsCancellationRequested)
        {
            var now = _time.GetUtcNow();
            var due = _outbox.Due(now - _options.ResendAfter, _connectedSince, max: _sendWindow);
            if (due.Count == 0)
            {
                return true;
            }

            now = _time.GetUtcNow(); // after the query: an alarm stored in between must not look sent before it was raised
            var messages = new AlarmMessage[due.Count];
            var publishes = new Task<bool>[due.Count];
            for (var i = 0; i < due.Count; i++)
            {
                messages[i] = due[i].ToMessage(_options.GatewayId, now, due[i].Attempts + 1);
                publishes[i] = PublishAsync(Topics.Alarm(_options.GatewayId), ProtocolJson.Serialize(messages[i]), MqttQualityOfServiceLevel.AtLeastOnce, retain: false, ct);
            }

            var results = await Task.WhenAll(publishes);
            var sent = messages.Where((_, i) => results[i]).ToList();
            if (sent.Count > 0)
            {
                try
                {
                    _outbox.MarkSent([.. sent.Select(m => m.AlarmId)], now);
                }
                catch (Exception ex) when (ex is OutboxFullException or Microsoft.Data.Sqlite.SqliteException)
                {
                    // The copies are out; only the bookkeeping of the attempt failed. Pause until the next wake-up rather
                    // than send the same alarms again at once in a tight loop.
                    _log.LogError("Could not record the send of {Count} alarms: {Reason}", sent.Count, ex.Message);
                    Announce(sent, now);
                    return false;
                }

                Announce(sent, now);
            }

            if (sent.Count < messages.Length)
            {
                return false; // the connection is in trouble; the reconnect loop takes over, and the alarms stay pending
            }
        }

        return false; // disconnected (or stopping) before everything due was sent
    }

    private void Announce(List<AlarmMessage> sent, DateTimeOffset now)
    {
        foreach (var message in sent)
        {
            if (message.Attempt > 1)
            {
                _log.LogWarning("Alarm {AlarmId} ({Type}, seq {Seq}) re-sent, attempt {Attempt}, waiting {Age} on the gateway: no 'received' from the centre yet", message.AlarmId, message.Type, message.Seq, message.Attempt, now - message.RaisedAt);
            }

            AlarmSent?.Invoke(message);
        }
    }

    /// <summary>How long until the oldest unanswered send is due again (at most <see cref="UplinkOptions.ResendAfter"/>).</summary>
    private TimeSpan UntilNextResend()
    {
        if (_outbox.OldestUnreceivedSend is not { } oldest)
        {
            return _options.ResendAfter;
        }

        var wait = oldest + _options.ResendAfter - _time.GetUtcNow();
        return wait <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : wait < _options.ResendAfter ? wait : _options.ResendAfter;
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(_options.HeartbeatInterval, _time, ct);
            if (!_client.IsConnected)
            {
                continue;
            }

            var now = _time.GetUtcNow();
            PruneDelivered(now);
            var heartbeat = new HeartbeatMessage
            {
                GatewayId = _options.GatewayId,
                At = now,
                UptimeSeconds = (long)(now - _startedAt).TotalSeconds,
                PendingAlarms = _outbox.PendingCount,
                LastSeq = _outbox.LastSeq,
                IntervalSeconds = Math.Max(1, (int)Math.Ceiling(_options.HeartbeatInterval.TotalSeconds)),
            };
            if (await PublishAsync(Topics.Heartbeat(_options.GatewayId), ProtocolJson.Serialize(heartbeat), MqttQualityOfServiceLevel.AtMostOnce, retain: false, ct))
            {
                lock (_supervisorGate)
                {
                    _supervisor.HeartbeatSent(now);
                }
            }
        }
    }

    private void PruneDelivered(DateTimeOffset now)
    {
        try
        {
            if (_outbox.PruneDelivered(now) is var pruned and > 0)
            {
                _log.LogInformation("Removed {Count} delivered alarms older than the retention from the outbox", pruned);
            }
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            _log.LogError("Could not prune delivered alarms: {Reason}", ex.Message);
        }
    }

    private async Task<bool> PublishAsync(string topic, byte[] payload, MqttQualityOfServiceLevel qos, bool retain, CancellationToken ct)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(qos)
            .WithRetainFlag(retain)
            .WithContentType("application/json")
            .Build();

        // MqttClientOptions.Timeout does not bound the wait for PUBACK: give the publish its own deadline.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.PublishTimeout);
        try
        {
            var result = await _client.PublishAsync(message, deadline.Token);
            if (!result.IsSuccess)
            {
                _log.LogWarning("The broker did not accept a message on {Topic}: {Code} {Reason}", topic, result.ReasonCode, result.ReasonString);
            }

            return result.IsSuccess;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when ((ex is OperationCanceledException && deadline.IsCancellationRequested && !_stopping) || ex is MQTTnet.Exceptions.MqttCommunicationTimedOutException)
        {
            // No PUBACK within the deadline: the connection is not to be trusted (half-open TCP, stalled broker).
            _log.LogWarning("Publishing to {Topic} got no answer from the broker within {Timeout}", topic, _options.PublishTimeout);
            await DropConnectionAsync("a publish timed out");
            return false;
        }
        catch (Exception ex)
        {
            _log.LogWarning("Publishing to {Topic} failed: {Reason}", topic, Loops.Describe(null, null, ex));
            return false;
        }
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        if (TryHandleCommand(topic, e.ApplicationMessage.Payload))
        {
            return Task.CompletedTask;
        }

        if (topic == Topics.HeartbeatAck(_options.GatewayId))
        {
            OnHeartbeatAck(e.ApplicationMessage.Payload.ToArray());
            return Task.CompletedTask;
        }

        if (topic != Topics.Ack(_options.GatewayId))
        {
            _log.LogWarning("Ignoring a message on unexpected topic {Topic}", topic);
            return Task.CompletedTask;
        }

        var payload = e.ApplicationMessage.Payload;
        if (payload.Length > ProtocolJson.MaxMessageBytes)
        {
            _log.LogWarning("Rejected acknowledgement on {Topic}: {Bytes} bytes is over the limit", topic, payload.Length);
            return Task.CompletedTask;
        }

        if (!ProtocolJson.TryParseAck(payload.ToArray(), out var ack, out var error))
        {
            _log.LogWarning("Rejected acknowledgement on {Topic}: {Error}", topic, error);
            return Task.CompletedTask;
        }

        if (ack.GatewayId != _options.GatewayId)
        {
            _log.LogWarning("Rejected acknowledgement on {Topic}: it names gateway {Other}", topic, ack.GatewayId);
            return Task.CompletedTask;
        }

        // Recorded by the acknowledgement loop, which writes every answer waiting with one commit; the PUBACK to the
        // broker is held back until then, so it always follows the durable write.
        e.AutoAcknowledge = false;
        _acks.Writer.TryWrite((ack, e));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Records the centre's answers in the outbox, every answer waiting with one commit (a burst of 'closed' costs one
    /// fsync, not one each), then confirms each to the broker (PUBACK) and tells the supervisor and listeners.
    /// </summary>
    private async Task AckLoopAsync(CancellationToken ct)
    {
        var batch = new List<(AckMessage Ack, MqttApplicationMessageReceivedEventArgs Delivery)>();
        while (await _acks.Reader.WaitToReadAsync(ct))
        {
            batch.Clear();
            while (batch.Count < 256 && _acks.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            IReadOnlyList<AckOutcome> outcomes;
            try
            {
                outcomes = _outbox.ApplyAcks([.. batch.Select(b => b.Ack)]);
            }
            catch (Exception ex) when (ex is OutboxFullException or Microsoft.Data.Sqlite.SqliteException)
            {
                // Not recorded, so not acknowledged to the broker either: it delivers the answers again after a
                // reconnect (or the centre answers the next re-send).
                _log.LogError("Could not record {Count} acknowledgements from the centre: {Reason}", batch.Count, ex.Message);
                continue;
            }

            lock (_supervisorGate)
            {
                _supervisor.CentreAnswered(_time.GetUtcNow());
            }

            for (var i = 0; i < batch.Count; i++)
            {
                var (ack, delivery) = batch[i];
                await ConfirmAsync(delivery, ct);
                if (outcomes[i] == AckOutcome.UnknownAlarm)
                {
                    _log.LogWarning("Acknowledgement '{State}' for unknown alarm {AlarmId}", ack.State, ack.AlarmId);
                }
                else if (outcomes[i] == AckOutcome.Applied && ack.State == AckState.Received)
                {
                    NoteTestRoundTrip(ack.AlarmId);
                }

                AckReceived?.Invoke(ack, outcomes[i]);
            }
        }
    }

    private async Task ConfirmAsync(MqttApplicationMessageReceivedEventArgs delivery, CancellationToken ct)
    {
        try
        {
            await delivery.AcknowledgeAsync(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The connection it came on is gone: the broker delivers it again on the next one, and it is then known.
            _log.LogDebug("Could not confirm an acknowledgement to the broker: {Reason}", ex.Message);
        }
    }

    /// <summary>Raised when a local warning turns on or off (after the <see cref="ILocalIndicator"/> was told).</summary>
    public event Action<LocalWarning, bool, string>? LocalWarningChanged;

    /// <summary>Raised when the centre answers the automatic end-to-end test alarm, with the round-trip time.</summary>
    public event Action<string, TimeSpan>? TestAlarmAnswered;

    /// <summary>Raised when the centre answers a heartbeat, with the round-trip time.</summary>
    public event Action<TimeSpan>? HeartbeatAnswered;

    /// <summary>Raised when an alarm was escalated because no operator accepted it in time.</summary>
    public event Action<OutboxAlarm>? AlarmEscalated;

    /// <summary>A snapshot for diagnostics (the technician's tool, the centre's diagnostics request).</summary>
    public UplinkDiagnostics Diagnostics
    {
        get
        {
            // The outbox is read outside the supervisor's lock: the outbox may call into the supervisor under its own lock.
            var pending = _outbox.PendingCount;
            lock (_supervisorGate)
            {
                return new UplinkDiagnostics(
                    _client.IsConnected,
                    _connectedSince == DateTimeOffset.MinValue ? null : _connectedSince,
                    _supervisor.LastCentreAnswer,
                    _lastHeartbeatRoundTrip,
                    _lastTest?.At,
                    _lastTest?.RoundTrip,
                    pending,
                    _supervisor.ActiveWarnings);
            }
        }
    }

    /// <summary>Raises the end-to-end test alarm now (also what the periodic timer does); returns its id.</summary>
    public async Task<string> RaiseTestAlarmAsync(CancellationToken cancellationToken)
    {
        var info = AlarmCatalog.Get(AlarmType.Test);
        var now = _time.GetUtcNow();
        var alarm = new CareGateway.Core.NewAlarm(
            Guid.CreateVersion7(now).ToString(),
            info.Type,
            info.Priority,
            info.VkpCode,
            info.Triage,
            AlarmState.Raised,
            null,
            null,
            now,
            "Automatic end-to-end test of the path to the centre; no action needed");
        await _outbox.AddAsync(alarm, cancellationToken);
        _log.LogInformation("End-to-end test alarm {AlarmId} raised", alarm.AlarmId);
        NotifyNewAlarm();
        return alarm.AlarmId;
    }

    /// <summary>
    /// The outbox grew past its bound or used its disk reserve: say so locally at once, and tell the centre once per run
    /// with a <c>gateway-fault</c> alarm (raised outside the outbox's own write, which is still in progress).
    /// </summary>
    private void OnStorageWarning(string problem)
    {
        lock (_supervisorGate)
        {
            _supervisor.StorageProblem(problem);
        }

        if (Interlocked.Exchange(ref _storageFaultReported, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await RaiseGatewayFaultAsync("Gateway self-check: the alarm store is over its size bound or the disk is full; no alarm was dropped. A technician should check the gateway.", CancellationToken.None);
            }
            catch (Exception ex) when (ex is OutboxFullException or Microsoft.Data.Sqlite.SqliteException or ObjectDisposedException)
            {
                _log.LogCritical("Could not raise the alarm about the full store: {Reason}", ex.Message);
            }
        });
    }

    private async Task RaiseGatewayFaultAsync(string reason, CancellationToken ct)
    {
        var info = AlarmCatalog.Get(AlarmType.GatewayFault);
        var now = _time.GetUtcNow();
        var alarm = new CareGateway.Core.NewAlarm(Guid.CreateVersion7(now).ToString(), info.Type, info.Priority, info.VkpCode, info.Triage, AlarmState.Raised, null, null, now, reason);
        await _outbox.AddAsync(alarm, ct);
        _log.LogError("Raised technical alarm {AlarmId}: {Reason}", alarm.AlarmId, reason);
        GatewayFaultRaised?.Invoke(alarm.AlarmId);
        NotifyNewAlarm();
    }

    /// <summary>Raised when the uplink itself raised a <c>gateway-fault</c> alarm (for example about a full store).</summary>
    public event Action<string>? GatewayFaultRaised;

    private void NoteTestRoundTrip(string alarmId)
    {
        if (_outbox.Find(alarmId) is not { } stored || stored.Alarm.Type != AlarmType.Test)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var roundTrip = now - stored.Alarm.RaisedAt;
        lock (_supervisorGate)
        {
            _lastTest = (now, roundTrip);
        }

        _log.LogInformation("End-to-end test alarm {AlarmId} answered by the centre: round trip {RoundTrip} ms", alarmId, (long)roundTrip.TotalMilliseconds);
        TestAlarmAnswered?.Invoke(alarmId, roundTrip);
    }

    private void OnHeartbeatAck(byte[] payload)
    {
        if (!ProtocolJson.TryParseHeartbeatAck(payload, out var answer, out var error) || answer.GatewayId != _options.GatewayId)
        {
            _log.LogWarning("Rejected heartbeat answer: {Error}", error.Length > 0 ? error : "it names another gateway");
            return;
        }

        var now = _time.GetUtcNow();
        var roundTrip = now - answer.HeartbeatAt;
        lock (_supervisorGate)
        {
            _supervisor.CentreAnswered(now);
            _lastHeartbeatRoundTrip = roundTrip;
        }

        HeartbeatAnswered?.Invoke(roundTrip);
    }

    private async Task SupervisionLoopAsync(CancellationToken ct)
    {
        lock (_supervisorGate)
        {
            _supervisor.Started(_time.GetUtcNow());
        }

        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(_options.SupervisionInterval, _time, ct);
            IReadOnlyList<OutboxAlarm> escalate;
            try
            {
                var now = _time.GetUtcNow();
                var overdue = _outbox.Overdue(now, _options.ReceivedTimeout, _options.AcceptedTimeout);
                lock (_supervisorGate)
                {
                    escalate = _supervisor.Evaluate(now, overdue);
                }
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex)
            {
                _log.LogError("Supervision could not read the outbox: {Reason}", ex.Message);
                continue;
            }

            foreach (var alarm in escalate)
            {
                _log.LogError("Alarm {AlarmId} ({Type}, seq {Seq}) was received by the centre but not accepted by an operator within {Timeout}: escalating", alarm.Alarm.AlarmId, alarm.Alarm.Type, alarm.Seq, _options.AcceptedTimeout);
                AlarmEscalated?.Invoke(alarm);
                if (_options.EscalateByResend && _client.IsConnected)
                {
                    var message = alarm.ToMessage(_options.GatewayId, _time.GetUtcNow(), alarm.Attempts + 1);
                    if (await PublishAsync(Topics.Alarm(_options.GatewayId), ProtocolJson.Serialize(message), MqttQualityOfServiceLevel.AtLeastOnce, retain: false, ct))
                    {
                        _outbox.MarkSent(message.AlarmId, message.SentAt);
                        AlarmSent?.Invoke(message);
                    }
                }
            }
        }
    }

    private async Task TestAlarmLoopAsync(CancellationToken ct)
    {
        if (_options.TestAlarmInterval is not { } interval || interval <= TimeSpan.Zero)
        {
            return;
        }

        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(interval, _time, ct);
            try
            {
                await RaiseTestAlarmAsync(ct);
            }
            catch (Exception ex) when (ex is OutboxFullException or Microsoft.Data.Sqlite.SqliteException)
            {
                _log.LogError("Could not raise the end-to-end test alarm: {Reason}", ex.Message);
            }
        }
    }

    /// <summary>Passes every warning change to the current <see cref="Indicator"/> and to <see cref="LocalWarningChanged"/>.</summary>
    private sealed class RelayIndicator(MqttUplink owner) : ILocalIndicator
    {
        public void Show(LocalWarning warning, bool active, string reason)
        {
            owner.Indicator.Show(warning, active, reason);
            owner.LocalWarningChanged?.Invoke(warning, active, reason);
        }
    }

    private async Task DisconnectCleanlyAsync()
    {
        _stopping = true;
        if (!_client.IsConnected)
        {
            return;
        }

        // A clean stop says offline itself. If that does not get through (a loaded or failing link), the stop must not
        // be clean in MQTT's sense: a normal DISCONNECT makes the broker discard the last will, and the centre would see
        // the gateway online for ever. Then the gateway asks the broker to publish the will instead.
        var saidOffline = false;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            saidOffline = await PublishAsync(
                Topics.Status(_options.GatewayId),
                ProtocolJson.Serialize(new StatusMessage { GatewayId = _options.GatewayId, State = GatewayState.Offline, Since = _time.GetUtcNow(), SoftwareVersion = _options.SoftwareVersion }),
                MqttQualityOfServiceLevel.AtLeastOnce,
                retain: true,
                timeout.Token);
        }
        catch (Exception ex)
        {
            _log.LogDebug(ex, "The offline status was not published");
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var reason = saidOffline ? MqttClientDisconnectOptionsReason.NormalDisconnection : MqttClientDisconnectOptionsReason.DisconnectWithWillMessage;
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(reason).Build(), timeout.Token);
        }
        catch (Exception ex)
        {
            // The connection just closes: an unclean loss, so the broker publishes the last will.
            _log.LogDebug(ex, "Disconnect was not clean");
        }
    }
}
