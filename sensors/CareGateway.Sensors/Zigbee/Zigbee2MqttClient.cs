using System.Buffers;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.Sensors.Zigbee;

/// <summary>Where zigbee2mqtt's broker is, and who we are there.</summary>
public sealed record Zigbee2MqttOptions
{
    public required string Host { get; init; }

    public int Port { get; init; } = 1883;

    /// <summary>Client id at the local broker; stable, so the persistent session survives a restart.</summary>
    public required string ClientId { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>How long the broker keeps our session (and queues QoS 1 messages) while we are away.</summary>
    public TimeSpan SessionExpiry { get; init; } = TimeSpan.FromDays(1);

    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan ReconnectMin { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The thin MQTT adapter in front of <see cref="Zigbee2MqttMapper"/>: MQTTnet 5 client with a persistent session
/// (Clean Start off, session expiry set) and a QoS 1 subscription to <c>{base}/#</c>, so device messages published while
/// the gateway restarts wait at the broker (zigbee2mqtt must publish them with QoS 1: docs/sensors.md). Every event
/// goes to <c>emit</c>; the mapper's state is touched only from the message handler, one message at a time.
/// </summary>
public sealed class Zigbee2MqttClient : IAsyncDisposable
{
    private readonly Zigbee2MqttOptions _options;
    private readonly Zigbee2MqttMapper _mapper;
    private readonly Action<SensorEvent> _emit;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly IMqttClient _client;
    private readonly SemaphoreSlim _connectionLost = new(0);
    private readonly Lock _gate = new();
    private bool _wasConnected;

    public Zigbee2MqttClient(Zigbee2MqttOptions options, Zigbee2MqttMapper mapper, Action<SensorEvent> emit, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(mapper);
        ArgumentNullException.ThrowIfNull(emit);
        _options = options;
        _mapper = mapper;
        _emit = emit;
        _time = time;
        _log = log;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += _ =>
        {
            _connectionLost.Release();
            return Task.CompletedTask;
        };
    }

    /// <summary>Raised when the subscription is in place after a (re)connect.</summary>
    public event Action? Subscribed;

    public bool IsConnected => _client.IsConnected;

    public Zigbee2MqttMapper Mapper => _mapper;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = _options.ReconnectMin;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (!_client.IsConnected)
                {
                    if (_wasConnected)
                    {
                        _wasConnected = false;
                        _log.LogWarning("Lost the local broker {Host}:{Port}: Zigbee sensors cannot be heard until it is back", _options.Host, _options.Port);
                        EmitAll(() => _mapper.OnConnectionLost());
                    }

                    if (await TryConnectAsync(cancellationToken))
                    {
                        backoff = _options.ReconnectMin;
                        _wasConnected = true;
                    }
                    else
                    {
                        var wait = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * backoff.TotalMilliseconds);
                        await Task.Delay(wait, _time, cancellationToken);
                        backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.ReconnectMax.Ticks));
                        continue;
                    }
                }

                await SignalWait.WaitAsync(_connectionLost, _options.KeepAlive, _time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await DisconnectAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DisconnectAsync();
        _client.Dispose();
        _connectionLost.Dispose();
    }

    private async Task<bool> TryConnectAsync(CancellationToken ct)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)_options.SessionExpiry.TotalSeconds)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (_options.Username is not null || _options.Password is not null)
        {
            builder = builder.WithCredentials(_options.Username ?? _options.ClientId, _options.Password);
        }

        try
        {
            var result = await _client.ConnectAsync(builder.Build(), ct);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                _log.LogWarning("The local broker {Host}:{Port} refused the connection: {Code} {Reason}", _options.Host, _options.Port, result.ResultCode, result.ReasonString);
                return false;
            }

            EmitAll(() => _mapper.OnConnected());

            // Subscribe on every connect: right whether or not the broker kept the session.
            var subscribe = new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(f => f.WithTopic(_mapper.BaseTopic + "/#").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                .Build();
            await _client.SubscribeAsync(subscribe, ct);
            _log.LogInformation("Listening to zigbee2mqtt on {Host}:{Port} under {Base}/# (session kept by broker: {SessionPresent})", _options.Host, _options.Port, _mapper.BaseTopic, result.IsSessionPresent);
            Subscribed?.Invoke();
            return true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // any connect failure means the same: wait and try again
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _log.LogWarning("Cannot connect to the local broker {Host}:{Port}: {Reason}", _options.Host, _options.Port, ex.Message);
            return false;
        }
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        var bytes = message.Payload.ToArray();
        EmitAll(() => _mapper.Handle(message.Topic, bytes, message.Retain));
        return Task.CompletedTask;
    }

    private void EmitAll(Func<IReadOnlyList<SensorEvent>> produce)
    {
        IReadOnlyList<SensorEvent> events;
        lock (_gate)
        {
            events = produce();
        }

        foreach (var e in events)
        {
            try
            {
                _emit(e);
            }
#pragma warning disable CA1031 // one failing consumer must not lose the other events of the message or stop the handler
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _log.LogError(ex, "Handling the event of sensor {SensorId} failed; the Zigbee driver carries on", e.SensorId);
            }
        }
    }

    private async Task DisconnectAsync()
    {
        if (!_client.IsConnected)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), timeout.Token);
        }
#pragma warning disable CA1031 // a disconnect that fails leaves nothing to clean up
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _log.LogDebug(ex, "Disconnect from the local broker was not clean");
        }
    }
}
