using CareGateway.Resilience;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace CareGateway.Mqtt;

/// <summary>What a connection is like once it is set up.</summary>
/// <param name="Number">Identifies the connection: it grows with every attempt, and <see cref="MqttDelivery.ConnectionNumber"/> names it.</param>
/// <param name="Endpoint">The broker it reached.</param>
/// <param name="SessionPresent">The broker kept the session (subscriptions and queued messages) from before.</param>
/// <param name="BrokerReceiveMaximum">How many QoS 1 messages the broker takes from us unacknowledged at once (MQTT 5; 65535 when not said).</param>
/// <param name="Since">When the connection was made.</param>
public sealed record MqttSession(int Number, MqttEndpoint Endpoint, bool SessionPresent, int BrokerReceiveMaximum, DateTimeOffset Since);

/// <summary>
/// The product's one MQTT connection (docs/operations.md, "Connections to brokers"): every MQTT user goes through it.
/// <see cref="RunAsync"/> keeps it connected: it connects, subscribes (on every connect, whether or not the broker kept
/// the session), lets the user publish what a new connection needs (<see cref="SetUp"/>), then sleeps until the
/// connection is lost or the keep-alive period has passed (it pings then; a ping without answer drops the connection).
/// A failed attempt is retried after <see cref="MqttConnectionOptions.Reconnect"/>'s back-off on the injected clock,
/// with an injectable random source; the first attempt after a loss is made at once. Repeated failures are logged
/// once per cause per minute. Every message received goes to <see cref="Received"/> as an <see cref="MqttDelivery"/>
/// that the user acknowledges once its effect is durable (manual acknowledgement is the only mode; PUBACKs go out in
/// arrival order). Deadlines of network operations (connect, publish, ping) are on the system clock: they measure the
/// network, not the product's logic.
/// </summary>
public sealed class MqttConnection : IAsyncDisposable
{
    private readonly MqttConnectionOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly RepeatedErrorLog _errors;
    private readonly ConnectionAdapterFactory _adapters;
    private readonly IMqttClient _client;
    private readonly SemaphoreSlim _lost = new(0);
    private readonly Lock _gate = new();
    private readonly Queue<MqttDelivery> _unacknowledged = new();
    private readonly SemaphoreSlim _ackSender = new(1, 1);
    private readonly List<MqttSubscription> _subscriptions;
    private int _connection;
    private int _connections;
    private volatile MqttSession? _session;
    private volatile bool _stopping;
    private volatile string? _expectedLoss;
    private int _disposed;

    public MqttConnection(MqttConnectionOptions options, ILogger log, TimeProvider? time = null, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        _options = options;
        _log = log;
        _time = time ?? TimeProvider.System;
        _random = random ?? Random.Shared.NextDouble;
        _errors = new RepeatedErrorLog(log, _time);
        _subscriptions = [.. options.Subscriptions];
        _adapters = new ConnectionAdapterFactory(options.KeepAlive);
        _client = new MqttClientFactory().CreateMqttClient(_adapters);
        _client.ApplicationMessageReceivedAsync += OnReceivedAsync;
        _client.ConnectingAsync += _ =>
        {
            // A new connection: deliveries of the old one are never acknowledged on it (their packet ids mean nothing
            // here); the broker delivers them again.
            lock (_gate)
            {
                _connection++;
                _unacknowledged.Clear();
            }

            return Task.CompletedTask;
        };
        _client.DisconnectedAsync += e =>
        {
            var session = _session;
            _session = null;
            if (session is not null && !_stopping)
            {
                var reason = _expectedLoss ?? Failure.Describe(e.Reason.ToString(), e.ReasonString, e.Exception);
                if (_expectedLoss is null)
                {
                    _log.LogWarning("Connection to {Name} {Endpoint} lost: {Reason}", _options.Name, session.Endpoint, reason);
                }

                _expectedLoss = null;
                Disconnected?.Invoke(reason);
            }

            _lost.Release();
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// Every message received, one at a time in arrival order, on MQTTnet's receive task: return quickly (queue the
    /// work) and call <see cref="MqttDelivery.Acknowledge"/> once the message's effect is durable. Without a handler
    /// every message is acknowledged at once. A handler that throws is logged and its message acknowledged.
    /// </summary>
    /// <summary>The Maximum Packet Size this connection announces (0: none); a bigger payload is not copied (<see cref="MqttDelivery.Oversized"/>).</summary>
    public uint MaximumPacketSize => _options.MaximumPacketSize;

    public Func<MqttDelivery, Task>? Received { get; set; }

    /// <summary>
    /// Runs after each connect, once the subscriptions are made and before <see cref="IsConnected"/> turns true: for
    /// what a new connection needs first (an <c>online</c> status, a twin request). A failure drops the connection.
    /// </summary>
    public Func<MqttSession, CancellationToken, Task>? SetUp { get; set; }

    /// <summary>Raised when a connection is set up (after <see cref="SetUp"/>).</summary>
    public event Action<MqttSession>? Connected;

    /// <summary>Raised when an established connection is lost, with the reason as far as it is known.</summary>
    public event Action<string>? Disconnected;

    /// <summary>Raised when a connection attempt fails, with the reason; <see cref="RunAsync"/> tries again after a back-off.</summary>
    public event Action<string>? ConnectFailed;

    public MqttConnectionOptions Options => _options;

    /// <summary>Connected and set up: subscriptions made, <see cref="SetUp"/> done.</summary>
    public bool IsConnected => _session is not null && _client.IsConnected;

    /// <summary>The connection that is up, or null.</summary>
    public MqttSession? Session => IsConnected ? _session : null;

    /// <summary>Why the last attempt failed (null after a success).</summary>
    public string? LastFailure { get; private set; }

    /// <summary>Lines the connection's repeated-error log wrote (tests bound the log with it).</summary>
    public int ErrorLinesWritten => _errors.LinesWritten;

    /// <summary>
    /// Keeps the connection up until cancelled. It is left as it is then: the user closes it with <see cref="CloseAsync"/>
    /// (with or without the will) or <see cref="DisposeAsync"/> (a normal DISCONNECT).
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (!_client.IsConnected)
                {
                    if (await TryConnectAsync(cancellationToken).ConfigureAwait(false))
                    {
                        failures = 0;
                    }
                    else
                    {
                        failures++;
                        var wait = _options.Reconnect.Delay(failures, _random());
                        _log.LogDebug("Next attempt to reach {Name} in {Wait} (attempt {Attempt} failed)", _options.Name, wait, failures);
                        await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                }

                // Asleep until the connection is lost or the keep-alive period has passed. MQTTnet does not always raise
                // DisconnectedAsync, and a half-open TCP connection looks connected: the ping finds both.
                await SignalWait.WaitAsync(_lost, _options.KeepAlive, _time, cancellationToken).ConfigureAwait(false);
                if (_client.IsConnected && !_stopping && !await PingAsync(cancellationToken).ConfigureAwait(false))
                {
                    await DropAsync($"no answer to a keep-alive ping within {_options.OperationTimeout.TotalSeconds:0} s").ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One connection attempt: connect, subscribe, <see cref="SetUp"/>. False (and <see cref="ConnectFailed"/>, and
    /// <see cref="LastFailure"/>) when it failed. Used by <see cref="RunAsync"/>, and alone by short-lived tools.
    /// </summary>
    public async Task<bool> TryConnectAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        var endpoint = EndpointFor(_connections);
        var since = _time.GetUtcNow();
        try
        {
            // MqttClientOptions.Timeout does not bound the wait for CONNACK on a silent path: the attempt has its own deadline.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_options.ConnectTimeout);
            var result = await _client.ConnectAsync(BuildOptions(endpoint), deadline.Token).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                return Failed(endpoint, $"the broker refused the connection: {Failure.Describe(result.ResultCode.ToString(), result.ReasonString, null)}");
            }

            if (_subscriptions.Count > 0)
            {
                await SubscribeAsync([.. _subscriptions], deadline.Token).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _connections);
            var session = new MqttSession(Volatile.Read(ref _connection), endpoint, result.IsSessionPresent, result.ReceiveMaximum is > 0 and var max ? max : ushort.MaxValue, since);
            if (SetUp is { } setUp)
            {
                await setUp(session, deadline.Token).ConfigureAwait(false);
            }

            if (!_client.IsConnected)
            {
                return Failed(endpoint, "the connection was lost while it was being set up");
            }

            _session = session;
            LastFailure = null;
            if (result.ServerKeepAlive > 0 && result.ServerKeepAlive != (ushort)_options.KeepAlive.TotalSeconds)
            {
                _log.LogWarning("{Name} asks for a keep-alive of {Seconds} s instead of {Ours} s; MQTTnet's own keep-alive loop runs for it", _options.Name, result.ServerKeepAlive, _options.KeepAlive.TotalSeconds);
            }

            _errors.Recovered("connect", $"Connected to {_options.Name} {endpoint} again");
            _log.LogInformation("Connected to {Name} {Endpoint} as {ClientId} (session kept by the broker: {SessionPresent})", _options.Name, endpoint, _options.ClientId, result.IsSessionPresent);
            Connected?.Invoke(session);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await AbortQuietlyAsync().ConfigureAwait(false);
            throw;
        }
        catch (Exception ex)
        {
            var why = ex is OperationCanceledException ? $"no answer within {_options.ConnectTimeout.TotalSeconds:0} s" : Failure.Describe(ex);
            if (_client.IsConnected)
            {
                await DropAsync("the connection could not be set up").ConfigureAwait(false);
            }

            return Failed(endpoint, why);
        }
    }

    /// <summary>
    /// Publishes one message. False when not connected, when the broker refused it, or when it got no answer within
    /// <see cref="MqttConnectionOptions.OperationTimeout"/> (then the connection is no longer trusted and is dropped,
    /// keeping the last will). Never throws for a network failure; throws only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<bool> PublishAsync(string topic, byte[] payload, MqttQualityOfServiceLevel qos, bool retain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!_client.IsConnected)
        {
            return false;
        }

        var builder = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).WithRetainFlag(retain);
        if (_options.ProtocolVersion == MqttProtocolVersion.V500)
        {
            builder = builder.WithContentType("application/json");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.OperationTimeout);
        try
        {
            var result = await _client.PublishAsync(builder.Build(), deadline.Token).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                _errors.Report($"publish-refused:{topic}:{result.ReasonCode}", LogLevel.Warning, $"{_options.Name} did not accept a message on {topic}: {result.ReasonCode} {result.ReasonString}");
            }

            return result.IsSuccess;
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up (a gateway stopping or restarting on a new configuration): MQTTnet may report that as a
            // timeout, but the connection is not at fault and must not be dropped (a drop keeps the will: a false 'offline').
            throw new OperationCanceledException("the publish was cancelled by its caller", ex, cancellationToken);
        }
        catch (Exception ex) when (!_stopping && ((ex is OperationCanceledException && deadline.IsCancellationRequested) || ex is MqttCommunicationTimedOutException))
        {
            await DropAsync($"a publish on {topic} got no answer within {_options.OperationTimeout.TotalSeconds:0} s").ConfigureAwait(false);
            return false;
        }
        catch (Exception ex)
        {
            _errors.Report($"publish-failed:{ex.GetType().Name}", LogLevel.Warning, $"Publishing to {topic} on {_options.Name} failed: {Failure.Describe(ex)}");
            return false;
        }
    }

    /// <summary>Adds a subscription, kept for every later connect, and makes it now when connected; false when the broker refused it.</summary>
    public async Task<bool> AddSubscriptionAsync(MqttSubscription subscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        lock (_gate)
        {
            _subscriptions.Add(subscription);
        }

        if (!_client.IsConnected)
        {
            return true;
        }

        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_options.OperationTimeout);
            await SubscribeAsync([subscription], deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Closes a connection that is no longer trusted; <see cref="RunAsync"/> connects again. The broker publishes the
    /// last will (MQTT 5: DISCONNECT "with will"; 3.1.1: the socket is closed without DISCONNECT).
    /// </summary>
    public async Task DropAsync(string why)
    {
        if (_stopping || !_client.IsConnected)
        {
            _lost.Release();
            return;
        }

        _log.LogWarning("Dropping the connection to {Name}: {Reason}", _options.Name, why);
        await DisconnectAsync(withWill: true).ConfigureAwait(false);
        _lost.Release();
    }

    /// <summary>
    /// Ends the current connection with a normal DISCONNECT (the will is discarded) and lets <see cref="RunAsync"/>
    /// connect again at once: for credentials that expire (an IoT Hub SAS token).
    /// </summary>
    public async Task ReconnectAsync(string why)
    {
        if (_stopping || !_client.IsConnected)
        {
            return;
        }

        _log.LogInformation("Reconnecting to {Name}: {Reason}", _options.Name, why);
        _expectedLoss = why;
        await DisconnectAsync(withWill: false).ConfigureAwait(false);
        _lost.Release();
    }

    /// <summary>
    /// Ends the connection for good (before <see cref="RunAsync"/> is cancelled, or after). With <paramref name="withWill"/>
    /// the broker publishes the last will; without, a normal DISCONNECT makes it discard the will.
    /// </summary>
    public async Task CloseAsync(bool withWill)
    {
        _stopping = true;
        if (_client.IsConnected)
        {
            await DisconnectAsync(withWill).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await CloseAsync(withWill: false).ConfigureAwait(false);
        _client.Dispose();
        _lost.Dispose();
        _ackSender.Dispose();
    }

    /// <summary>Called by a delivery once its effect is durable: sends every PUBACK now due, in arrival order.</summary>
    internal void Acknowledged(MqttDelivery delivery)
    {
        if (delivery.Qos == MqttQualityOfServiceLevel.AtMostOnce)
        {
            return;
        }

        _ = SendDueAcknowledgementsAsync();
    }

    /// <summary>The broker for the next attempt (one endpoint today; issue 16 adds an ordered list with failover here).</summary>
    private MqttEndpoint EndpointFor(int connections) => _options.Endpoint;

    private bool Failed(MqttEndpoint endpoint, string why)
    {
        LastFailure = why;
        _errors.Report($"connect:{why}", LogLevel.Warning, $"Cannot connect to {_options.Name} {endpoint}: {why}");
        ConnectFailed?.Invoke(why);
        return false;
    }

    private MqttClientOptions BuildOptions(MqttEndpoint endpoint)
    {
        var v5 = _options.ProtocolVersion == MqttProtocolVersion.V500;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(endpoint.Host, endpoint.Port)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(_options.ProtocolVersion)
            .WithTimeout(_options.ConnectTimeout)
            .WithNoKeepAlive(); // the CONNECT packet gets the real keep-alive from ConnectionAdapterFactory
        builder = v5 ? builder.WithCleanStart(_options.CleanStart) : builder.WithCleanSession(_options.CleanStart);
        if (v5)
        {
            if (!_options.CleanStart)
            {
                builder = builder.WithSessionExpiryInterval((uint)_options.SessionExpiry.TotalSeconds);
            }

            if (_options.ReceiveMaximum > 0)
            {
                builder = builder.WithReceiveMaximum(_options.ReceiveMaximum);
            }

            if (_options.MaximumPacketSize > 0)
            {
                builder = builder.WithMaximumPacketSize(_options.MaximumPacketSize);
            }
        }

        if (_options.Will?.Invoke() is { } will)
        {
            builder = builder.WithWillTopic(will.Topic).WithWillPayload(will.Payload).WithWillQualityOfServiceLevel(will.Qos).WithWillRetain(will.Retain);
            if (v5 && will.DelaySeconds > 0)
            {
                builder = builder.WithWillDelayInterval(will.DelaySeconds);
            }
        }

        var password = _options.Password?.Invoke();
        if (_options.Username is not null || password is not null)
        {
            builder = builder.WithCredentials(_options.Username ?? _options.ClientId, password);
        }

        if (_options.Tls is { } tls)
        {
            builder = builder.WithTlsOptions(MqttTls.Build(tls, endpoint.Host, problem => _errors.Report($"tls:{problem}", LogLevel.Warning, $"Refusing {_options.Name} {endpoint}: {problem}")));
        }

        return builder.Build();
    }

    private async Task SubscribeAsync(IReadOnlyList<MqttSubscription> subscriptions, CancellationToken ct)
    {
        var builder = new MqttClientSubscribeOptionsBuilder();
        foreach (var s in subscriptions)
        {
            builder = builder.WithTopicFilter(f => f.WithTopic(s.Filter).WithQualityOfServiceLevel(s.Qos));
        }

        var result = await _client.SubscribeAsync(builder.Build(), ct).ConfigureAwait(false);
        var refused = result.Items.Where(i => i.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2).ToList();
        if (refused.Count > 0)
        {
            throw new InvalidOperationException($"the broker refused the subscription to {string.Join(", ", refused.Select(i => $"{i.TopicFilter.Topic} ({i.ResultCode})"))}; check the broker's ACL");
        }
    }

    private async Task<bool> PingAsync(CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.OperationTimeout);
        try
        {
            await _client.PingAsync(deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // any failure of a ping means the same: the connection is not to be trusted
        catch (Exception)
#pragma warning restore CA1031
        {
            return !_client.IsConnected; // lost meanwhile: the loop reconnects anyway
        }
    }

    private async Task DisconnectAsync(bool withWill)
    {
        try
        {
            if (withWill && _options.ProtocolVersion != MqttProtocolVersion.V500)
            {
                // MQTT 3.1.1 has no "disconnect with will": close the socket, which the broker takes for a lost connection.
                await _adapters.AbortAsync().ConfigureAwait(false);
                return;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var reason = withWill ? MqttClientDisconnectOptionsReason.DisconnectWithWillMessage : MqttClientDisconnectOptionsReason.NormalDisconnection;
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(reason).Build(), timeout.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a disconnect that fails leaves a closed connection all the same (an unclean loss keeps the will)
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _log.LogDebug(ex, "Disconnect from {Name} was not clean", _options.Name);
            await _adapters.AbortAsync().ConfigureAwait(false);
        }
    }

    private async Task AbortQuietlyAsync()
    {
        if (_client.IsConnected)
        {
            _stopping = true;
            await DisconnectAsync(withWill: true).ConfigureAwait(false);
        }
    }

    private async Task OnReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        e.AutoAcknowledge = false;
        MqttDelivery delivery;
        lock (_gate)
        {
            delivery = new MqttDelivery(this, e, _connection);
            if (delivery.Qos != MqttQualityOfServiceLevel.AtMostOnce)
            {
                _unacknowledged.Enqueue(delivery);
            }
        }

        if (Received is not { } handler)
        {
            delivery.Acknowledge();
            return;
        }

        try
        {
            await handler(delivery).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a handler's bug must not stop the connection or hold back every later PUBACK
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _log.LogError(ex, "Handling a message on {Topic} from {Name} failed; it is acknowledged and not handled again", delivery.Topic, _options.Name);
            delivery.Acknowledge();
        }
    }

    private async Task SendDueAcknowledgementsAsync()
    {
        try
        {
            await _ackSender.WaitAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        try
        {
            while (true)
            {
                MqttDelivery head;
                lock (_gate)
                {
                    if (!_unacknowledged.TryPeek(out head!) || !head.IsAcknowledged)
                    {
                        return;
                    }

                    _unacknowledged.Dequeue();
                    if (head.Connection != _connection)
                    {
                        continue; // from an older connection: the broker delivers it again
                    }
                }

                try
                {
                    using var timeout = new CancellationTokenSource(_options.OperationTimeout);
                    await head.Args!.AcknowledgeAsync(timeout.Token).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // the connection it came on is gone: the broker delivers it again on the next one
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    _log.LogDebug("Could not acknowledge a message on {Topic} to {Name}: {Reason}", head.Topic, _options.Name, ex.Message);
                }
            }
        }
        finally
        {
            try
            {
                _ackSender.Release();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
