using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Core.Commands;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace CareGateway.Uplink.IotHub;

/// <summary>
/// The uplink through Azure IoT Hub, speaking the hub's documented MQTT 3.1.1 interface with MQTTnet (the Azure device
/// SDK is not available from this project's package source). Same outbox semantics as <see cref="MqttUplink"/>: every
/// alarm is on disk before it is sent, is sent as a device-to-cloud message, and is re-sent until the centre's backend
/// answers <c>received</c> with a cloud-to-device message. Commands arrive as direct methods (answered in the method
/// response) or as cloud-to-device messages (answered with a device-to-cloud message); the care profile also arrives as
/// the twin's desired property <c>careProfile</c>, and the outcome is reported back as a reported property.
/// See docs/iot-hub.md for the message mapping and for what was tested without a real hub.
/// </summary>
public sealed class IotHubUplink : IAlarmUplink, ICommandChannel
{
    private readonly IotHubOptions _options;
    private readonly SqliteOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly IMqttClient _client;
    private readonly byte[]? _key;
    private readonly SemaphoreSlim _sendSignal = new(0);
    private readonly SemaphoreSlim _connectionLost = new(0);
    private readonly ConcurrentDictionary<string, byte> _twinRequests = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _startedAt;
    private CommandExecutor? _executor;
    private ICareProfileStore? _profiles;
    private long _requestId;
    private long _lastDesiredVersion = -1;
    private DateTimeOffset? _renewTokenAt;
    private volatile bool _stopping;
    private volatile bool _renewing;

    public IotHubUplink(IotHubOptions options, SqliteOutbox outbox, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(options);
        GatewayId.ThrowIfInvalid(options.GatewayId);
        if (!IotHubOptions.IsValidDeviceId(options.DeviceId))
        {
            throw new ArgumentException($"IoT Hub device id '{options.DeviceId}' is not valid: use 1-128 characters of letters, digits, '-', '.' and '_'.", nameof(options));
        }

        if (options.SharedAccessKey is null && options.CertFile is null)
        {
            throw new ArgumentException("IoT Hub needs a shared access key or a client certificate (X.509).", nameof(options));
        }

        _options = options;
        _key = options.SharedAccessKey is { } key ? SasToken.DecodeKey(key) : null;
        _outbox = outbox;
        _time = time;
        _log = log;
        _startedAt = time.GetUtcNow();
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += e =>
        {
            if (e.ClientWasConnected && !_stopping && !_renewing)
            {
                _log.LogWarning("Connection to IoT Hub {Host} lost: {Reason}", _options.HostName, Loops.Describe(e.Reason.ToString(), e.ReasonString, e.Exception));
            }

            _connectionLost.Release();
            return Task.CompletedTask;
        };
    }

    public event Action<AckMessage, AckOutcome>? AckReceived;

    public event Action<AlarmMessage>? AlarmSent;

    public event Action? Connected;

    /// <inheritdoc/>
    public event Action<byte[]>? CommandReceived;

    /// <summary>Raised after the twin's desired care profile was handled: its twin version and the problems (empty when applied).</summary>
    public event Action<long, IReadOnlyList<string>>? DesiredProfileHandled;

    public bool IsConnected => _client.IsConnected;

    public string Transport => "iot-hub";

    /// <summary>Lets direct methods reach the command executor (without it, every method is answered 501).</summary>
    public void AttachCommands(CommandExecutor executor) => _executor = executor;

    /// <summary>Lets the twin's desired <c>careProfile</c> replace the care profile (without it, the twin is not read).</summary>
    public void AttachCareProfile(ICareProfileStore store) => _profiles = store;

    public void NotifyNewAlarm() => _sendSignal.Release();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(KeepConnectedAsync(cancellationToken), SendLoopAsync(cancellationToken), HeartbeatLoopAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await DisconnectCleanlyAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DisconnectCleanlyAsync();
        _client.Dispose();
        _sendSignal.Dispose();
        _connectionLost.Dispose();
    }

    /// <inheritdoc/>
    public Task<bool> PublishCommandResultAsync(byte[] payload, CancellationToken cancellationToken) =>
        PublishAsync(IotHubTopics.Events(_options.DeviceId, Properties("command-result")), payload, MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

    private async Task KeepConnectedAsync(CancellationToken ct)
    {
        var backoff = _options.ReconnectMin;
        while (!ct.IsCancellationRequested)
        {
            if (_client.IsConnected && _renewTokenAt is { } renewAt && _time.GetUtcNow() >= renewAt)
            {
                // The hub closes a connection whose SAS token expires: reconnect with a fresh token before that.
                _log.LogInformation("Renewing the IoT Hub SAS token: reconnecting");
                _renewing = true;
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), timeout.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    _log.LogDebug(ex, "Disconnect for token renewal was not clean");
                }
            }

            if (!_client.IsConnected)
            {
                var ok = await TryConnectAsync(ct);
                _renewing = false;
                if (ok)
                {
                    backoff = _options.ReconnectMin;
                    _sendSignal.Release();
                    Connected?.Invoke();
                }
                else
                {
                    var wait = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * backoff.TotalMilliseconds);
                    await Task.Delay(wait, _time, ct);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.ReconnectMax.Ticks));
                    continue;
                }
            }

            var next = _options.KeepAlive;
            if (_renewTokenAt is { } at)
            {
                var untilRenewal = at - _time.GetUtcNow();
                next = untilRenewal < next ? (untilRenewal > TimeSpan.Zero ? untilRenewal : TimeSpan.Zero) : next;
            }

            await Sensors.SignalWait.WaitAsync(_connectionLost, next, _time, ct);
        }
    }

    private async Task<bool> TryConnectAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var will = ProtocolJson.Serialize(new StatusMessage { GatewayId = _options.GatewayId, State = GatewayState.Offline, Since = now, SoftwareVersion = _options.SoftwareVersion });
        var username = IotHubTopics.Username(_options.HostName, _options.DeviceId);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.ConnectHost ?? _options.HostName, _options.Port)
            .WithClientId(_options.DeviceId)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithCleanSession(false) // the hub keeps cloud-to-device messages (acknowledgements) for the device while it is away
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(IotHubTopics.Events(_options.DeviceId, Properties("status")))
            .WithWillPayload(will)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);

        if (_key is not null)
        {
            // A fresh token on every connect; the old one may be close to expiry.
            var expiry = now + _options.TokenLifetime;
            builder = builder.WithCredentials(username, SasToken.ForDevice(_options.HostName, _options.DeviceId, _key, expiry));
            _renewTokenAt = now + (_options.TokenLifetime * 0.8);
        }
        else
        {
            // X.509: the TLS client certificate authenticates; the password stays empty.
            builder = builder.WithCredentials(username, (string?)null);
            _renewTokenAt = null;
        }

        try
        {
            if (_options.UseTls)
            {
                builder = builder.WithTlsOptions(ConfigureTls);
            }

            var result = await _client.ConnectAsync(builder.Build(), ct);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                _log.LogWarning("IoT Hub {Host} refused the connection of device {DeviceId}: {Code}", _options.HostName, _options.DeviceId, result.ResultCode);
                return false;
            }

            var subscribe = new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(f => f.WithTopic(IotHubTopics.DeviceBoundFilter(_options.DeviceId)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                .WithTopicFilter(f => f.WithTopic(IotHubTopics.MethodsFilter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
                .WithTopicFilter(f => f.WithTopic(IotHubTopics.TwinResponsesFilter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
                .WithTopicFilter(f => f.WithTopic(IotHubTopics.TwinDesiredFilter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
                .Build();
            await _client.SubscribeAsync(subscribe, ct);

            var online = ProtocolJson.Serialize(new StatusMessage { GatewayId = _options.GatewayId, State = GatewayState.Online, Since = now, SoftwareVersion = _options.SoftwareVersion });
            await PublishAsync(IotHubTopics.Events(_options.DeviceId, Properties("status")), online, MqttQualityOfServiceLevel.AtLeastOnce, ct);
            if (_profiles is not null)
            {
                await RequestTwinAsync(ct);
            }

            _log.LogInformation("Connected to IoT Hub {Host} as device {DeviceId} ({Auth}; session kept by the hub: {SessionPresent})", _options.HostName, _options.DeviceId, _key is null ? "X.509" : "SAS token", result.IsSessionPresent);
            return true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            _log.LogWarning("Cannot connect to IoT Hub {Host}:{Port}: {Reason}", _options.ConnectHost ?? _options.HostName, _options.Port, Loops.Describe(null, null, ex));
            return false;
        }
    }

    private void ConfigureTls(MqttClientTlsOptionsBuilder tls)
    {
        tls.UseTls().WithTargetHost(_options.HostName);
        if (_options.CertFile is { } cert)
        {
            tls.WithClientCertificates([X509Certificate2.CreateFromPemFile(cert, _options.KeyFile)]);
        }

        if (_options.CaFile is { } caFile)
        {
            var trusted = new X509Certificate2Collection();
            trusted.ImportFromPemFile(caFile);
            tls.WithCertificateValidationHandler(args =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                using var presented = X509CertificateLoader.LoadCertificate(args.Certificate.GetRawCertData());
                return args.SslPolicyErrors is System.Net.Security.SslPolicyErrors.None or System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors
                    && chain.Build(presented);
            });
        }
    }

    private async Task SendLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            if (_client.IsConnected)
            {
                await SendDueAsync(ct);
            }

            await Sensors.SignalWait.WaitAsync(_sendSignal, _options.ResendAfter, _time, ct);
        }
    }

    private async Task SendDueAsync(CancellationToken ct)
    {
        foreach (var pending in _outbox.Pending())
        {
            var now = _time.GetUtcNow();
            if (pending.LastSentAt is { } last && now - last < _options.ResendAfter)
            {
                continue;
            }

            var message = pending.ToMessage(_options.GatewayId, now, pending.Attempts + 1);
            if (!await PublishAsync(IotHubTopics.Events(_options.DeviceId, AlarmProperties(message)), ProtocolJson.Serialize(message), MqttQualityOfServiceLevel.AtLeastOnce, ct))
            {
                return; // the connection is in trouble; the alarm stays pending and the reconnect loop takes over
            }

            _outbox.MarkSent(message.AlarmId, now);
            if (message.Attempt > 1)
            {
                _log.LogWarning("Alarm {AlarmId} ({Type}, seq {Seq}) re-sent through IoT Hub, attempt {Attempt}: no 'received' from the centre yet", message.AlarmId, message.Type, message.Seq, message.Attempt);
            }

            AlarmSent?.Invoke(message);
        }
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
            var heartbeat = new HeartbeatMessage
            {
                GatewayId = _options.GatewayId,
                At = now,
                UptimeSeconds = (long)(now - _startedAt).TotalSeconds,
                PendingAlarms = _outbox.PendingCount,
                LastSeq = _outbox.LastSeq,
                IntervalSeconds = (int)_options.HeartbeatInterval.TotalSeconds,
            };
            await PublishAsync(IotHubTopics.Events(_options.DeviceId, Properties("heartbeat")), ProtocolJson.Serialize(heartbeat), MqttQualityOfServiceLevel.AtMostOnce, ct);
        }
    }

    /// <summary>The property bag of an alarm: routing and de-duplication without opening the body; no personal data.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> AlarmProperties(AlarmMessage alarm)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        return
        [
            new("$.mid", alarm.AlarmId),
            .. Properties("alarm"),
            new("alarmId", alarm.AlarmId),
            new("seq", alarm.Seq.ToString(CultureInfo.InvariantCulture)),
            new("type", alarm.Type),
            new("priority", alarm.Priority.ToWire()),
            new("attempt", alarm.Attempt.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    private static KeyValuePair<string, string>[] Properties(string messageType) =>
    [
        new("$.ct", "application/json"),
        new("$.ce", "utf-8"),
        new("messageType", messageType),
    ];

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        var payload = e.ApplicationMessage.Payload.ToArray();
        if (payload.Length > ProtocolJson.MaxMessageBytes)
        {
            _log.LogWarning("Rejected a message on {Topic}: {Bytes} bytes is over the limit", topic, payload.Length);
            return Task.CompletedTask;
        }

        var deviceBound = IotHubTopics.DeviceBoundPrefix(_options.DeviceId);
        if (topic.StartsWith(deviceBound, StringComparison.Ordinal))
        {
            var properties = IotHubTopics.DecodeBag(topic[deviceBound.Length..]);
            switch (properties.GetValueOrDefault("messageType"))
            {
                case "ack":
                    // Recorded before the handler returns, so the PUBACK to the hub follows the durable write.
                    HandleAck(payload);
                    break;
                case "command":
                    CommandReceived?.Invoke(payload);
                    break;
                default:
                    _log.LogWarning("Ignored a cloud-to-device message without messageType 'ack' or 'command'");
                    break;
            }
        }
        else if (IotHubTopics.TryParseMethod(topic, out var method, out var requestId))
        {
            _ = Task.Run(() => AnswerMethodAsync(method, requestId, payload));
        }
        else if (IotHubTopics.TryParseTwinResponse(topic, out var status, out var twinRequest))
        {
            if (_twinRequests.TryRemove(twinRequest, out _))
            {
                if (status == 200)
                {
                    _ = Task.Run(() => ApplyDesiredProfileAsync(payload));
                }
                else
                {
                    _log.LogWarning("IoT Hub answered the twin request {RequestId} with status {Status}", twinRequest, status);
                }
            }
            else if (status >= 300)
            {
                _log.LogWarning("IoT Hub answered a twin update with status {Status}", status);
            }
        }
        else if (topic.StartsWith("$iothub/twin/PATCH/properties/desired/", StringComparison.Ordinal))
        {
            // A desired patch holds only what changed: read the whole twin so the profile is never applied half.
            _ = Task.Run(() => RequestTwinAsync(CancellationToken.None));
        }
        else
        {
            _log.LogWarning("Ignoring a message on unexpected topic {Topic}", topic);
        }

        return Task.CompletedTask;
    }

    private void HandleAck(byte[] payload)
    {
        if (!ProtocolJson.TryParseAck(payload, out var ack, out var error))
        {
            _log.LogWarning("Rejected acknowledgement from IoT Hub: {Error}", error);
            return;
        }

        if (ack.GatewayId != _options.GatewayId)
        {
            _log.LogWarning("Rejected acknowledgement from IoT Hub: it names gateway {Other}", ack.GatewayId);
            return;
        }

        var outcome = _outbox.ApplyAck(ack);
        if (outcome == AckOutcome.UnknownAlarm)
        {
            _log.LogWarning("Acknowledgement '{State}' for unknown alarm {AlarmId}", ack.State, ack.AlarmId);
        }

        AckReceived?.Invoke(ack, outcome);
    }

    private async Task AnswerMethodAsync(string method, string requestId, byte[] payload)
    {
        try
        {
            int status;
            byte[] body;
            if (_executor is not { } executor)
            {
                (status, body) = (501, Encoding.UTF8.GetBytes("""{"reason":"this gateway takes no commands"}"""));
            }
            else if (!CommandKind.IsKnown(method))
            {
                (status, body) = (404, Encoding.UTF8.GetBytes(new JsonObject { ["reason"] = $"unknown method '{method}'; known: {string.Join(", ", CommandKind.All)}" }.ToJsonString()));
            }
            else
            {
                var result = CommandJson.TryParseCommand(payload, out var command, out _) && command.Command != method
                    ? executor.Reject(command.CommandId, command.Command, $"command: the payload says '{command.Command}' but the method is '{method}'")
                    : await executor.HandleAsync(payload, CancellationToken.None);
                (status, body) = result is null
                    ? (400, Encoding.UTF8.GetBytes("""{"reason":"the payload is not a command with a usable commandId (docs/schemas/command.schema.json)"}"""))
                    : (result.Status switch { CommandStatus.Ok => 200, CommandStatus.Rejected => 400, _ => 500 }, CommandJson.Serialize(result));
            }

            await PublishAsync(IotHubTopics.MethodResponse(status, requestId), body, MqttQualityOfServiceLevel.AtMostOnce, CancellationToken.None);
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "Direct method {Method} could not be answered", method);
        }
    }

    private async Task RequestTwinAsync(CancellationToken ct)
    {
        var requestId = Interlocked.Increment(ref _requestId).ToString(CultureInfo.InvariantCulture);
        _twinRequests[requestId] = 0;
        if (!await PublishAsync(IotHubTopics.TwinGet(requestId), [], MqttQualityOfServiceLevel.AtMostOnce, ct))
        {
            _twinRequests.TryRemove(requestId, out _);
        }
    }

    private async Task ApplyDesiredProfileAsync(byte[] twinJson)
    {
        if (_profiles is not { } profiles)
        {
            return;
        }

        try
        {
            using var twin = JsonDocument.Parse(twinJson);
            if (!twin.RootElement.TryGetProperty("desired", out var desired) || desired.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            var version = desired.TryGetProperty("$version", out var v) && v.TryGetInt64(out var n) ? n : 0;
            if (!desired.TryGetProperty("careProfile", out var section) || section.ValueKind == JsonValueKind.Null || version <= Interlocked.Read(ref _lastDesiredVersion))
            {
                return;
            }

            string status;
            IReadOnlyList<string> errors;
            try
            {
                errors = section.ValueKind == JsonValueKind.Object ? profiles.TryReplace(section) : ["$.careProfile: must be a JSON object"];
                status = errors.Count == 0 ? "applied" : "rejected";
            }
            catch (Exception ex)
            {
                errors = [$"the care profile could not be stored: {ex.Message}"];
                status = "failed";
            }

            Interlocked.Exchange(ref _lastDesiredVersion, version);
            var reason = errors.Count == 0 ? "care profile validated, stored and in use" : $"{string.Join("; ", errors)}; the care profile in use is unchanged";
            _log.Log(errors.Count == 0 ? LogLevel.Information : LogLevel.Warning, "Desired care profile (twin version {Version}): {Status}: {Reason}", version, status, reason);
            var reported = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["careProfile"] = new JsonObject { ["status"] = status, ["reason"] = reason, ["desiredVersion"] = version },
            }.ToJsonString());
            var requestId = Interlocked.Increment(ref _requestId).ToString(CultureInfo.InvariantCulture);
            await PublishAsync(IotHubTopics.TwinReportedPatch(requestId), reported, MqttQualityOfServiceLevel.AtMostOnce, CancellationToken.None);
            DesiredProfileHandled?.Invoke(version, errors);
        }
        catch (JsonException ex)
        {
            _log.LogWarning("The device twin from IoT Hub is not valid JSON: {Error}", ex.Message);
        }
    }

    private async Task<bool> PublishAsync(string topic, byte[] payload, MqttQualityOfServiceLevel qos, CancellationToken ct)
    {
        // No retain and no MQTT 5 properties: IoT Hub ignores the first and speaks 3.1.1 only.
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).Build();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.PublishTimeout);
        try
        {
            var result = await _client.PublishAsync(message, deadline.Token);
            if (!result.IsSuccess)
            {
                _log.LogWarning("IoT Hub did not accept a message: {Code}", result.ReasonCode);
            }

            return result.IsSuccess;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            _log.LogWarning("Publishing to IoT Hub failed: {Reason}", Loops.Describe(null, null, ex));
            return false;
        }
    }

    private async Task DisconnectCleanlyAsync()
    {
        _stopping = true;
        if (!_client.IsConnected)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var offline = ProtocolJson.Serialize(new StatusMessage { GatewayId = _options.GatewayId, State = GatewayState.Offline, Since = _time.GetUtcNow(), SoftwareVersion = _options.SoftwareVersion });
            await PublishAsync(IotHubTopics.Events(_options.DeviceId, Properties("status")), offline, MqttQualityOfServiceLevel.AtLeastOnce, timeout.Token);
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), timeout.Token);
        }
        catch (Exception ex)
        {
            _log.LogDebug(ex, "Disconnect from IoT Hub was not clean");
        }
    }
}
