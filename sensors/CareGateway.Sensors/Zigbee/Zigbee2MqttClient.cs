using CareGateway.Mqtt;
using CareGateway.Resilience;
using Microsoft.Extensions.Logging;
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

    /// <summary>The reconnect back-off: 100 ms doubling to 1 s (a local broker with one client: nothing to protect).</summary>
    public Backoff Reconnect { get; init; } = DefaultReconnect;

    /// <summary>The default back-off for the local broker.</summary>
    public static Backoff DefaultReconnect { get; } = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
}

/// <summary>
/// The thin MQTT adapter in front of <see cref="Zigbee2MqttMapper"/>, on the product's <see cref="MqttConnection"/>:
/// a persistent session (Clean Start off, session expiry set) and a QoS 1 subscription to <c>{base}/#</c>, so device
/// messages published while the gateway restarts wait at the broker (zigbee2mqtt must publish them with QoS 1:
/// docs/sensors.md). Each message's events go to <c>handle</c>, whose task completes once the event's effect is durable
/// (the rule loop has evaluated it and stored any alarm it raised); only when every event of the message is durable is
/// the message acknowledged to the broker (PUBACK). A kill at any instant therefore loses nothing the broker handed
/// over: what was not acknowledged is delivered again. The mapper's state is touched one message at a time.
/// </summary>
public sealed class Zigbee2MqttClient : IAsyncDisposable
{
    private readonly Zigbee2MqttMapper _mapper;
    private readonly Func<SensorEvent, Task> _handle;
    private readonly ILogger _log;
    private readonly MqttConnection _connection;
    private readonly Lock _gate = new();
    private int _linkedConnection;
    private bool _linkUp;

    /// <param name="options">The local broker.</param>
    /// <param name="mapper">Turns messages into sensor events.</param>
    /// <param name="handle">Takes one event; its task completes when the event's effect is durable (then the message is acknowledged).</param>
    /// <param name="time">Clock of the reconnect back-off and keep-alive.</param>
    /// <param name="log">Where problems go.</param>
    /// <param name="random">Random source of the back-off's jitter (tests pass a fixed one).</param>
    public Zigbee2MqttClient(Zigbee2MqttOptions options, Zigbee2MqttMapper mapper, Func<SensorEvent, Task> handle, TimeProvider time, ILogger log, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(mapper);
        ArgumentNullException.ThrowIfNull(handle);
        _mapper = mapper;
        _handle = handle;
        _log = log;
        _connection = new MqttConnection(
            new MqttConnectionOptions
            {
                Name = "the local zigbee2mqtt broker",
                Endpoint = new MqttEndpoint(options.Host, options.Port),
                ClientId = options.ClientId,
                Username = options.Username ?? (options.Password is null ? null : options.ClientId),
                Password = options.Password is { } password ? () => password : null,
                KeepAlive = options.KeepAlive,
                SessionExpiry = options.SessionExpiry,
                Reconnect = options.Reconnect,
                Subscriptions = [new MqttSubscription(mapper.BaseTopic + "/#", MqttQualityOfServiceLevel.AtLeastOnce)],
            },
            log,
            time,
            random);
        _connection.Received = OnMessageAsync;
        _connection.Connected += session =>
        {
            LinkUp(session.Number);
            _log.LogInformation("Listening to zigbee2mqtt on {Host}:{Port} under {Base}/#", options.Host, options.Port, _mapper.BaseTopic);
            Subscribed?.Invoke();
        };
        _connection.Disconnected += reason =>
        {
            bool wasUp;
            lock (_gate)
            {
                wasUp = _linkUp;
                _linkUp = false;
            }

            if (wasUp)
            {
                _log.LogWarning("Lost the local broker {Host}:{Port}: Zigbee sensors cannot be heard until it is back", options.Host, options.Port);
                _ = EmitAsync(() => _mapper.OnConnectionLost());
            }
        };
    }

    /// <summary>Raised when the subscription is in place after a (re)connect.</summary>
    public event Action? Subscribed;

    public bool IsConnected => _connection.IsConnected;

    public Zigbee2MqttMapper Mapper => _mapper;

    /// <summary>The connection underneath, for diagnostics and tests.</summary>
    public MqttConnection Connection => _connection;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _connection.RunAsync(cancellationToken);
        }
        finally
        {
            await _connection.CloseAsync(withWill: false);
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    /// <summary>The first message of a new connection (or the connection's set-up) tells the mapper that the broker is back.</summary>
    private void LinkUp(int connection)
    {
        lock (_gate)
        {
            if (_linkedConnection >= connection)
            {
                return;
            }

            _linkedConnection = connection;
            _linkUp = true;
        }

        _ = EmitAsync(() => _mapper.OnConnected());
    }

    private Task OnMessageAsync(MqttDelivery delivery)
    {
        LinkUp(delivery.ConnectionNumber);
        var durable = EmitAsync(() => _mapper.Handle(delivery.Topic, delivery.Payload, delivery.Retained));
        if (durable.IsCompletedSuccessfully)
        {
            delivery.Acknowledge();
        }
        else
        {
            // Acknowledged once every event of the message is durable; until then the broker keeps it for us. A failed
            // event (a bug, not a full disk: the rule loop retries storing until it succeeds) is logged and acknowledged.
            _ = durable.ContinueWith(
                t =>
                {
                    if (t.IsFaulted)
                    {
                        _log.LogError(t.Exception, "Handling the Zigbee message on {Topic} failed", delivery.Topic);
                    }

                    if (!t.IsCanceled)
                    {
                        delivery.Acknowledge();
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        return Task.CompletedTask; // the next message is handled at once; its acknowledgement waits its turn
    }

    private Task EmitAsync(Func<IReadOnlyList<SensorEvent>> produce)
    {
        IReadOnlyList<SensorEvent> events;
        lock (_gate)
        {
            events = produce();
        }

        if (events.Count == 0)
        {
            return Task.CompletedTask;
        }

        var durable = new Task[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            try
            {
                durable[i] = _handle(events[i]);
            }
#pragma warning disable CA1031 // one failing consumer must not lose the other events of the message or stop the handler
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _log.LogError(ex, "Handling the event of sensor {SensorId} failed; the Zigbee driver carries on", events[i].SensorId);
                durable[i] = Task.CompletedTask;
            }
        }

        return durable.Length == 1 ? durable[0] : Task.WhenAll(durable);
    }
}
