using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Core.Commands;
using CareGateway.Protocol;
using CareGateway.Mqtt;
using CareGateway.Resilience;
using Microsoft.Extensions.Logging;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace CareGateway.Uplink.IotHub;

/// <summary>
/// The Azure IoT Hub transport of the <see cref="Forwarder"/>, speaking the hub's documented MQTT 3.1.1 interface on
/// the product's <see cref="MqttConnection"/> (the Azure device SDK is not available from this project's package
/// source). Alarms go out as device-to-cloud messages; the centre's backend answers <c>received</c> (and later steps)
/// with cloud-to-device messages, which are acknowledged to the hub only once recorded. Commands arrive as direct
/// methods (answered in the method response) or as cloud-to-device messages (answered with a device-to-cloud message,
/// acknowledged once journalled); the care profile also arrives as the twin's desired property <c>careProfile</c>, and
/// the outcome is reported back as a reported property. A fresh SAS token is made on every connect, and the
/// connection is renewed after 80 % of its lifetime. See docs/iot-hub.md for the mapping and what was tested without a real hub.
/// </summary>
public sealed class IotHubTransport : IUplinkTransport
{
    private readonly IotHubOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly MqttConnection _connection;
    private readonly byte[]? _key;
    private readonly ConcurrentDictionary<string, byte> _twinRequests = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _renewSignal = new(0);
    private CommandExecutor? _executor;
    private ICareProfileStore? _profiles;
    private long _requestId;
    private long _lastDesiredVersion = -1;
    private DateTimeOffset? _renewTokenAt;
    private int _closed;

    public IotHubTransport(IotHubOptions options, TimeProvider time, ILogger log, Func<double>? random = null)
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
        _time = time;
        _log = log;
        _connection = new MqttConnection(
            new MqttConnectionOptions
            {
                Name = $"IoT Hub {options.HostName}",
                Endpoint = new MqttEndpoint(options.ConnectHost ?? options.HostName, options.Port),
                ClientId = options.DeviceId,
                ProtocolVersion = MqttProtocolVersion.V311,
                CleanStart = false, // the hub keeps cloud-to-device messages (acknowledgements) for the device while it is away
                Username = IotHubTopics.Username(options.HostName, options.DeviceId),
                Password = NextPassword,
                Tls = options.UseTls ? new MqttTlsOptions { CaFile = options.CaFile, CertFile = options.CertFile, KeyFile = options.KeyFile, TargetHost = options.HostName } : null,
                KeepAlive = options.KeepAlive,
                OperationTimeout = options.PublishTimeout,
                Reconnect = new Resilience.Backoff(options.ReconnectMin, options.ReconnectMax),
                Will = () => new MqttWill(IotHubTopics.Events(options.DeviceId, Properties("status")), Status(GatewayState.Offline, _time.GetUtcNow()), MqttQualityOfServiceLevel.AtLeastOnce, Retain: false),
                Subscriptions =
                [
                    new MqttSubscription(IotHubTopics.DeviceBoundFilter(options.DeviceId), MqttQualityOfServiceLevel.AtLeastOnce),
                    new MqttSubscription(IotHubTopics.MethodsFilter, MqttQualityOfServiceLevel.AtMostOnce),
                    new MqttSubscription(IotHubTopics.TwinResponsesFilter, MqttQualityOfServiceLevel.AtMostOnce),
                    new MqttSubscription(IotHubTopics.TwinDesiredFilter, MqttQualityOfServiceLevel.AtMostOnce),
                ],
            },
            log,
            time,
            random);
        _connection.Received = OnMessageAsync;
        _connection.SetUp = async (session, ct) =>
        {
            if (!await PublishAsync(IotHubTopics.Events(_options.DeviceId, Properties("status")), Status(GatewayState.Online, session.Since), MqttQualityOfServiceLevel.AtLeastOnce, ct))
            {
                throw new InvalidOperationException("the hub did not take the 'online' status");
            }

            if (_profiles is not null)
            {
                await RequestTwinAsync(ct);
            }

            _log.LogInformation("Connected to IoT Hub {Host} as device {DeviceId} ({Auth})", _options.HostName, _options.DeviceId, _key is null ? "X.509" : "SAS token");
        };
        _connection.Connected += s =>
        {
            _renewSignal.Release();
            Connected?.Invoke(s);
        };
        _connection.Disconnected += r => Disconnected?.Invoke(r);
        _connection.ConnectFailed += r => ConnectFailed?.Invoke(r);
    }

    public string Name => "iot-hub";

    public bool IsConnected => _connection.IsConnected;

    public MqttSession? Session => _connection.Session;

    public int SendWindow => Math.Max(1, _options.SendWindow);

    public MqttConnection Connection => _connection;

    public Func<TransportInput, Task>? Received { get; set; }

    public event Action<MqttSession>? Connected;

    public event Action<string>? Disconnected;

    public event Action<string>? ConnectFailed;

    /// <summary>Raised after the twin's desired care profile was handled: its twin version and the problems (empty when applied).</summary>
    public event Action<long, IReadOnlyList<string>>? DesiredProfileHandled;

    /// <summary>Lets direct methods reach the command executor (without it, every method is answered 501).</summary>
    public void AttachCommands(CommandExecutor executor) => _executor = executor;

    /// <summary>Lets the twin's desired <c>careProfile</c> replace the care profile (without it, the twin is not read).</summary>
    public void AttachCareProfile(ICareProfileStore store) => _profiles = store;

    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(_connection.RunAsync(cancellationToken), RenewLoopAsync(cancellationToken));

    public Task<bool> PublishAlarmAsync(AlarmMessage alarm, CancellationToken cancellationToken) =>
        PublishAsync(IotHubTopics.Events(_options.DeviceId, AlarmProperties(alarm)), ProtocolJson.Serialize(alarm), MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

    public Task<bool> PublishHeartbeatAsync(HeartbeatMessage heartbeat, CancellationToken cancellationToken) =>
        PublishAsync(IotHubTopics.Events(_options.DeviceId, Properties("heartbeat")), ProtocolJson.Serialize(heartbeat), MqttQualityOfServiceLevel.AtMostOnce, cancellationToken);

    public Task<bool> PublishCommandResultAsync(byte[] payload, CancellationToken cancellationToken) =>
        PublishAsync(IotHubTopics.Events(_options.DeviceId, Properties("command-result")), payload, MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken);

    public async Task CloseAsync(bool handover)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        if (_connection.IsConnected && !handover)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await PublishAsync(IotHubTopics.Events(_options.DeviceId, Properties("status")), Status(GatewayState.Offline, _time.GetUtcNow()), MqttQualityOfServiceLevel.AtLeastOnce, timeout.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _connection.CloseAsync(withWill: false);
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync(handover: false);
        await _connection.DisposeAsync();
        _renewSignal.Dispose();
    }

    /// <summary>A fresh SAS token for each connect (the old one may be close to expiry); null with X.509.</summary>
    private string? NextPassword()
    {
        if (_key is null)
        {
            _renewTokenAt = null;
            return null; // X.509: the TLS client certificate authenticates; the password stays empty
        }

        var now = _time.GetUtcNow();
        _renewTokenAt = now + (_options.TokenLifetime * 0.8);
        return SasToken.ForDevice(_options.HostName, _options.DeviceId, _key, now + _options.TokenLifetime);
    }

    /// <summary>The hub closes a connection whose SAS token expires: reconnect with a fresh one before that.</summary>
    private async Task RenewLoopAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (_renewTokenAt is not { } at || !_connection.IsConnected)
                {
                    await _renewSignal.WaitAsync(ct); // asleep until the next connect
                    continue;
                }

                var wait = at - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await SignalWait.WaitAsync(_renewSignal, wait, _time, ct);
                    continue; // a new connect (new token) or the time has come: look again
                }

                await _connection.ReconnectAsync("the SAS token is due for renewal");
                _renewTokenAt = null;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private byte[] Status(GatewayState state, DateTimeOffset since) =>
        ProtocolJson.Serialize(new StatusMessage { GatewayId = _options.GatewayId, State = state, Since = since, SoftwareVersion = _options.SoftwareVersion });

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

    private Task OnMessageAsync(MqttDelivery delivery)
    {
        var topic = delivery.Topic;
        var payload = delivery.Payload;
        if (payload.Length > ProtocolJson.MaxMessageBytes)
        {
            _log.LogWarning("Rejected a message on {Topic}: {Bytes} bytes is over the limit", topic, payload.Length);
            delivery.Acknowledge();
            return Task.CompletedTask;
        }

        var deviceBound = IotHubTopics.DeviceBoundPrefix(_options.DeviceId);
        if (topic.StartsWith(deviceBound, StringComparison.Ordinal))
        {
            var properties = IotHubTopics.DecodeBag(topic[deviceBound.Length..]);
            switch (properties.GetValueOrDefault("messageType"))
            {
                case "ack":
                    if (ProtocolJson.TryParseAck(payload, out var ack, out var error))
                    {
                        // Acknowledged to the hub (which completes it) only once the forwarder has recorded it.
                        return Hand(new AckInput(ack, delivery), delivery);
                    }

                    _log.LogWarning("Rejected acknowledgement from IoT Hub: {Error}", error);
                    break;
                case "command":
                    return Hand(new CommandInput(payload, delivery), delivery);
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

        delivery.Acknowledge();
        return Task.CompletedTask;
    }

    private Task Hand(TransportInput input, MqttDelivery delivery)
    {
        if (Received is { } received)
        {
            return received(input);
        }

        delivery.Acknowledge();
        return Task.CompletedTask;
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

    // No retain and no MQTT 5 properties: IoT Hub ignores the first and speaks 3.1.1 only.
    private Task<bool> PublishAsync(string topic, byte[] payload, MqttQualityOfServiceLevel qos, CancellationToken ct) =>
        _connection.PublishAsync(topic, payload, qos, retain: false, ct);
}
