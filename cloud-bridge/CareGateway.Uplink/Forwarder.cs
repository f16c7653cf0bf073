using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Resilience;
using Microsoft.Extensions.Logging;

namespace CareGateway.Uplink;

/// <summary>
/// Store-and-forward to the centre, the same over every <see cref="IUplinkTransport"/>: it sends every alarm that is
/// due from the <see cref="SqliteOutbox"/> (most urgent first, several in flight within the transport's send window),
/// re-sends any alarm the centre has not acknowledged as received within <see cref="ForwarderOptions.ResendAfter"/>,
/// records the centre's answers (every answer waiting with one commit) before they are acknowledged to the broker,
/// sends heartbeats, prunes delivered alarms, supervises the centre (<see cref="CentreSupervisor"/>: local warnings and
/// escalation), raises the periodic end-to-end test alarm, and raises a <c>gateway-fault</c> alarm when the store is
/// full. Alarms it raises go through <see cref="AlarmRaiser"/>, like every alarm (the care profile's priorities apply).
/// Commands go on to whoever listens to <see cref="CommandReceived"/>.
/// </summary>
public sealed class Forwarder : ICommandChannel, IAsyncDisposable
{
    private readonly ForwarderOptions _options;
    private readonly IUplinkTransport _transport;
    private readonly SqliteOutbox _outbox;
    private readonly AlarmRaiser _raiser;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly RepeatedErrorLog _errors;
    private readonly CentreSupervisor _supervisor;
    private readonly Lock _supervisorGate = new();
    private readonly SemaphoreSlim _sendSignal = new(0);
    private readonly SemaphoreSlim _faultSignal = new(0);
    private readonly SemaphoreSlim _pruneSignal = new(0);
    private readonly SemaphoreSlim _supervisionSignal = new(0);
    private readonly System.Threading.Channels.Channel<AckInput> _acks =
        System.Threading.Channels.Channel.CreateUnbounded<AckInput>(new() { SingleReader = true });
    private readonly Dictionary<string, DateTimeOffset> _unrecordedSends = new(StringComparer.Ordinal);
    private readonly Queue<string> _faults = new();
    private readonly DateTimeOffset _startedAt;
    private TimeSpan? _lastHeartbeatRoundTrip;
    private (DateTimeOffset At, TimeSpan RoundTrip)? _lastTest;
    private int _storageFaultReported;
    private volatile bool _handover;

    /// <summary>The most alarms in flight (published, PUBACK not yet back) at once.</summary>
    public const int MaxSendWindow = 16;

    public Forwarder(ForwarderOptions options, IUplinkTransport transport, SqliteOutbox outbox, AlarmRaiser raiser, TimeProvider time, ILogger log, ILocalIndicator? indicator = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(raiser);
        GatewayId.ThrowIfInvalid(options.GatewayId);
        _options = options;
        _transport = transport;
        _outbox = outbox;
        _raiser = raiser;
        _time = time;
        _log = log;
        _errors = new RepeatedErrorLog(log, time);
        Indicator = indicator ?? new LoggingIndicator(log);
        _supervisor = new CentreSupervisor(options, new RelayIndicator(this));
        _startedAt = time.GetUtcNow();
        _outbox.StorageWarning += OnStorageWarning;
        _transport.Received = OnReceivedAsync;
        _transport.Connected += _ =>
        {
            lock (_supervisorGate)
            {
                _supervisor.ConnectionUp(_time.GetUtcNow());
            }

            _sendSignal.Release();
            Connected?.Invoke();
        };
        _transport.Disconnected += reason =>
        {
            lock (_supervisorGate)
            {
                _supervisor.ConnectionDown(_time.GetUtcNow());
            }

            WakeSupervision();
            Disconnected?.Invoke(reason);
        };
        _transport.ConnectFailed += reason => ConnectFailed?.Invoke(reason);
        if (_outbox.StartupProblem is { } problem)
        {
            OnStorageWarning(problem);
        }
    }

    /// <summary>The care/v1 uplink to the centre's broker: a forwarder over <see cref="CareMqttTransport"/>.</summary>
    public static Forwarder OverMqtt(UplinkOptions options, SqliteOutbox outbox, AlarmRaiser? raiser, TimeProvider time, ILogger log, ILocalIndicator? indicator = null, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outbox);
        return new Forwarder(options, new CareMqttTransport(options, time, log, random), outbox, raiser ?? new AlarmRaiser(outbox, () => new CareProfile()), time, log, indicator);
    }

    /// <summary>Raised after an acknowledgement from the centre was recorded (or found already known).</summary>
    public event Action<AckMessage, AckOutcome>? AckReceived;

    /// <summary>Raised after an alarm was published and the broker confirmed it (PUBACK).</summary>
    public event Action<AlarmMessage>? AlarmSent;

    /// <summary>Raised when the connection comes up.</summary>
    public event Action? Connected;

    /// <summary>Raised when an established connection is lost, with the reason as far as it is known.</summary>
    public event Action<string>? Disconnected;

    /// <summary>Raised when a connection attempt fails, with the reason; the transport tries again after a back-off.</summary>
    public event Action<string>? ConnectFailed;

    /// <inheritdoc/>
    public event Action<ReceivedCommand>? CommandReceived;

    /// <summary>Raised when a local warning turns on or off (after the <see cref="ILocalIndicator"/> was told).</summary>
    public event Action<LocalWarning, bool, string>? LocalWarningChanged;

    /// <summary>Raised when the centre answers the automatic end-to-end test alarm, with the round-trip time.</summary>
    public event Action<string, TimeSpan>? TestAlarmAnswered;

    /// <summary>Raised when the centre answers a heartbeat, with the round-trip time.</summary>
    public event Action<TimeSpan>? HeartbeatAnswered;

    /// <summary>Raised when an alarm was escalated because no operator accepted it in time.</summary>
    public event Action<OutboxAlarm>? AlarmEscalated;

    /// <summary>Raised when the forwarder itself raised a <c>gateway-fault</c> alarm (for example about a full store).</summary>
    public event Action<string>? GatewayFaultRaised;

    public IUplinkTransport Transport => _transport;

    public bool IsConnected => _transport.IsConnected;

    /// <summary><c>mqtt</c> or <c>iot-hub</c>.</summary>
    public string TransportName => _transport.Name;

    /// <summary>How many alarms the current connection may have in flight at once.</summary>
    public int SendWindow => Math.Clamp(_transport.SendWindow, 1, MaxSendWindow);

    /// <summary>
    /// Where local warnings go: a buzzer and LEDs on real hardware, by default a <see cref="LoggingIndicator"/>. Only
    /// changes are shown; the active set is in <see cref="Diagnostics"/>.
    /// </summary>
    public ILocalIndicator Indicator { get; set; }

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
                    _transport.IsConnected,
                    _transport.Session?.Since,
                    _supervisor.LastCentreAnswer,
                    _lastHeartbeatRoundTrip,
                    _lastTest?.At,
                    _lastTest?.RoundTrip,
                    pending,
                    _supervisor.ActiveWarnings);
            }
        }
    }

    /// <summary>Wakes the sender (a new alarm is in the outbox) and the supervision, which sleeps while nothing is outstanding.</summary>
    public void NotifyNewAlarm()
    {
        _sendSignal.Release();
        WakeSupervision();
    }

    private void WakeSupervision()
    {
        try
        {
            _supervisionSignal.Release();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// The next stop is a handover to a gateway that starts at once on a changed configuration: say nothing and let
    /// the broker discard the will, so the centre never sees <c>offline</c> (docs/configuration.md).
    /// </summary>
    public void PrepareHandover() => _handover = true;

    /// <inheritdoc/>
    public Task<bool> PublishCommandResultAsync(byte[] payload, CancellationToken cancellationToken) =>
        _transport.PublishCommandResultAsync(payload, cancellationToken);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        lock (_supervisorGate)
        {
            _supervisor.Started(_time.GetUtcNow());
        }

        var loops = new[]
        {
            _transport.RunAsync(cancellationToken),
            KeepRunningAsync("sender", SendLoopAsync, cancellationToken),
            KeepRunningAsync("acknowledgement", AckLoopAsync, cancellationToken),
            KeepRunningAsync("heartbeat", HeartbeatLoopAsync, cancellationToken),
            KeepRunningAsync("supervision", SupervisionLoopAsync, cancellationToken),
            KeepRunningAsync("test alarm", TestAlarmLoopAsync, cancellationToken),
            KeepRunningAsync("pruning", PruneLoopAsync, cancellationToken),
            KeepRunningAsync("fault", FaultLoopAsync, cancellationToken),
        };
        try
        {
            await Task.WhenAll(loops);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await _transport.CloseAsync(_handover);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _outbox.StorageWarning -= OnStorageWarning;
        await _transport.CloseAsync(_handover);
        await _transport.DisposeAsync();
        _sendSignal.Dispose();
        _faultSignal.Dispose();
        _pruneSignal.Dispose();
        _supervisionSignal.Dispose();
    }

    /// <summary>Raises the end-to-end test alarm now (also what the periodic timer does); returns its id.</summary>
    public async Task<string> RaiseTestAlarmAsync(CancellationToken cancellationToken)
    {
        var alarm = await _raiser.RaiseAsync(new AlarmRequest(AlarmType.Test, null, null, "Automatic end-to-end test of the path to the centre; no action needed", _time.GetUtcNow()), cancellationToken);
        _log.LogInformation("End-to-end test alarm {AlarmId} raised", alarm.AlarmId);
        NotifyNewAlarm();
        return alarm.AlarmId;
    }

    /// <summary>
    /// Runs one of the forwarder's loops and starts it again if it fails (a bug): the gateway keeps running on its last
    /// good state, the failure is logged once a minute, and the restart backs off.
    /// </summary>
    private async Task KeepRunningAsync(string name, Func<CancellationToken, Task> loop, CancellationToken ct)
    {
        for (var failures = 1; !ct.IsCancellationRequested; failures++)
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
                _errors.Report($"loop:{name}", LogLevel.Error, $"The forwarder's {name} loop failed ({ex.Message}); starting it again", ex);
                await RuleRunner.StorageBackoff.WaitAsync(failures, Random.Shared.NextDouble, _time, ct);
            }
        }
    }

    private async Task SendLoopAsync(CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            var wait = _options.ResendAfter;
            if (_transport.Session is { } session)
            {
                if (await SendDueAsync(session, ct))
                {
                    failures = 0;
                    wait = UntilNextResend();
                }
                else
                {
                    // After a failure, wait for a wake-up (a new alarm, a reconnect) or a back-off, never spin.
                    failures++;
                    wait = RuleRunner.StorageBackoff.Delay(failures, Random.Shared.NextDouble());
                    wait = wait < _options.ResendAfter ? wait : _options.ResendAfter;
                }
            }

            await SignalWait.WaitAsync(_sendSignal, wait, _time, ct);
        }
    }

    /// <summary>
    /// Sends every alarm that is due, in batches (most urgent first), until none is left or the connection fails. A
    /// batch is published as a window of QoS 1 messages in flight together (started in order, so the broker gets them
    /// in order), then its send attempts are recorded in one transaction.
    /// </summary>
    /// <returns>True when everything due was sent; false when a publish failed or the connection went away.</returns>
    private async Task<bool> SendDueAsync(Mqtt.MqttSession session, CancellationToken ct)
    {
        while (_transport.Session == session && !ct.IsCancellationRequested)
        {
            var now = _time.GetUtcNow();
            var window = SendWindow;
            var due = SkipUnrecorded(_outbox.Due(now - _options.ResendAfter, session.Since, max: window + _unrecordedSends.Count), now, window);
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
                publishes[i] = _transport.PublishAlarmAsync(messages[i], ct);
            }

            var results = await Task.WhenAll(publishes);
            var sent = messages.Where((_, i) => results[i]).ToList();
            if (sent.Count > 0)
            {
                try
                {
                    await _outbox.MarkSentAsync([.. sent.Select(m => m.AlarmId)], now, ct);
                    lock (_unrecordedSends)
                    {
                        foreach (var m in sent)
                        {
                            _unrecordedSends.Remove(m.AlarmId);
                        }
                    }
                }
                catch (Exception ex) when (ex is OutboxFullException or Microsoft.Data.Sqlite.SqliteException)
                {
                    // The copies are out; only the bookkeeping failed (send records are shed while the disk is full).
                    // Keep the sends in memory so the same alarms are not sent again before ResendAfter.
                    lock (_unrecordedSends)
                    {
                        foreach (var m in sent)
                        {
                            _unrecordedSends[m.AlarmId] = now;
                        }
                    }

                    _errors.Report("mark-sent", LogLevel.Warning, $"Could not record the send of {sent.Count} alarms ({ex.Message}); the sends are kept in memory");
                }

                Announce(sent, now);
            }

            if (sent.Count < messages.Length)
            {
                return false; // the connection is in trouble; the transport reconnects, and the alarms stay pending
            }
        }

        return false; // disconnected (or stopping) before everything due was sent
    }

    /// <summary>Leaves out alarms sent recently whose send could not be recorded on disk (a full disk).</summary>
    private List<OutboxAlarm> SkipUnrecorded(IReadOnlyList<OutboxAlarm> due, DateTimeOffset now, int max)
    {
        lock (_unrecordedSends)
        {
            if (_unrecordedSends.Count == 0)
            {
                return [.. due.Take(max)];
            }

            return [.. due.Where(a => !_unrecordedSends.TryGetValue(a.Alarm.AlarmId, out var at) || now - at >= _options.ResendAfter).Take(max)];
        }
    }

    private void Announce(List<AlarmMessage> sent, DateTimeOffset now)
    {
        foreach (var message in sent)
        {
            if (message.Attempt > 1)
            {
                _log.LogWarning("Alarm {AlarmId} ({Type}, seq {Seq}) re-sent, attempt {Attempt}, waiting {Age} on the gateway: no 'received' from the centre yet", message.AlarmId, message.Type, message.Seq, message.Attempt, HumanTime.Duration(now - message.RaisedAt));
            }

            AlarmSent?.Invoke(message);
        }
    }

    /// <summary>How long until the oldest unanswered send is due again (at most <see cref="ForwarderOptions.ResendAfter"/>).</summary>
    private TimeSpan UntilNextResend()
    {
        if (_outbox.OldestUnreceivedSend is not { } oldest)
        {
            return _options.ResendAfter;
        }

        var wait = oldest + _options.ResendAfter - _time.GetUtcNow();
        return wait <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : wait < _options.ResendAfter ? wait : _options.ResendAfter;
    }

    private Task OnReceivedAsync(TransportInput input)
    {
        switch (input)
        {
            case AckInput ack when ack.Ack.GatewayId != _options.GatewayId:
                _log.LogWarning("Rejected an acknowledgement: it names gateway {Other}", ack.Ack.GatewayId);
                ack.Delivery.Acknowledge();
                break;
            case AckInput ack:
                // Recorded by the acknowledgement loop, which writes every answer waiting with one commit; the PUBACK
                // to the broker is held back until then, so it always follows the durable write.
                _acks.Writer.TryWrite(ack);
                break;
            case CommandInput command:
                if (CommandReceived is { } listener)
                {
                    listener(new ReceivedCommand(command.Payload, command.Delivery.Acknowledge));
                }
                else
                {
                    command.Delivery.Acknowledge();
                }

                break;
            case HeartbeatAnswerInput answer:
                OnHeartbeatAnswer(answer.Answer);
                break;
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Records the centre's answers in the outbox, every answer waiting with one commit (a burst of 'closed' costs one
    /// fsync, not one each), then confirms each to the broker (PUBACK) and tells the supervisor and listeners.
    /// </summary>
    private async Task AckLoopAsync(CancellationToken ct)
    {
        var batch = new List<AckInput>();
        var failures = 0;
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
                outcomes = await _outbox.ApplyAcksAsync([.. batch.Select(b => b.Ack)], ct);
                failures = 0;
            }
            catch (Exception ex) when (ex is OutboxFullException or Microsoft.Data.Sqlite.SqliteException)
            {
                // Not recorded, so not acknowledged to the broker either: they are tried again after a back-off (and
                // delivered again after a reconnect).
                failures++;
                _errors.Report("acks", LogLevel.Error, $"Could not record {batch.Count} acknowledgements from the centre ({ex.Message}); trying again");
                await RuleRunner.StorageBackoff.WaitAsync(failures, Random.Shared.NextDouble, _time, ct);
                foreach (var item in batch)
                {
                    _acks.Writer.TryWrite(item);
                }

                continue;
            }

            lock (_supervisorGate)
            {
                _supervisor.CentreAnswered(_time.GetUtcNow());
            }

            for (var i = 0; i < batch.Count; i++)
            {
                var (ack, delivery) = (batch[i].Ack, batch[i].Delivery);
                delivery.Acknowledge();
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

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(_options.HeartbeatInterval, _time, ct);
            if (!_transport.IsConnected)
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
                IntervalSeconds = Math.Max(1, (int)Math.Ceiling(_options.HeartbeatInterval.TotalSeconds)),
            };
            if (await _transport.PublishHeartbeatAsync(heartbeat, ct))
            {
                lock (_supervisorGate)
                {
                    _supervisor.HeartbeatSent(now);
                }

                WakeSupervision(); // silence is now counted: supervision sets its wake-up by it
            }
        }
    }

    /// <summary>
    /// Removes delivered alarms older than the retention, every <see cref="ForwarderOptions.PruneInterval"/>; while the
    /// disk is full, also gives the outbox the chance to take its reserve back once space has returned (backing off).
    /// </summary>
    private async Task PruneLoopAsync(CancellationToken ct)
    {
        var shortWaits = 0;
        while (!ct.IsCancellationRequested)
        {
            TimeSpan wait;
            if (_outbox.IsShedding)
            {
                shortWaits++;
                wait = new Backoff(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1)).Delay(shortWaits, Random.Shared.NextDouble());
            }
            else
            {
                shortWaits = 0;
                wait = _options.PruneInterval;
            }

            await SignalWait.WaitAsync(_pruneSignal, wait, _time, ct);
            try
            {
                if (await _outbox.PruneDeliveredAsync(_time.GetUtcNow(), ct) is var pruned and > 0)
                {
                    _log.LogInformation("Removed {Count} delivered alarms older than the retention from the outbox", pruned);
                }

                if (_outbox.IsShedding && await _outbox.TryRestoreReserveAsync(ct))
                {
                    _log.LogWarning("The disk holding the alarm store has space again: the reserve is back and state writes resume");
                }
            }
            catch (Exception ex) when (ex is OutboxFullException or Microsoft.Data.Sqlite.SqliteException or IOException)
            {
                _errors.Report("prune", LogLevel.Warning, $"Could not prune delivered alarms: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// The acknowledgement timers and the silent-centre watch: every <see cref="ForwarderOptions.SupervisionInterval"/>
    /// while anything can become overdue (an alarm waiting for <c>received</c> or <c>accepted</c>, no connection, a
    /// warning on); otherwise asleep until a new alarm, a lost connection or a heartbeat sent wakes it, or the first
    /// unanswered heartbeat turns silent (<see cref="CentreSupervisor.NextLook"/>). Idle means asleep.
    /// </summary>
    private async Task SupervisionLoopAsync(CancellationToken ct)
    {
        var wait = _options.SupervisionInterval;
        while (!ct.IsCancellationRequested)
        {
            await SignalWait.WaitAsync(_supervisionSignal, wait, _time, ct);
            wait = _options.SupervisionInterval;
            IReadOnlyList<OutboxAlarm> escalate;
            try
            {
                var now = _time.GetUtcNow();
                var overdue = _outbox.Overdue(now, _options.ReceivedTimeout, _options.AcceptedTimeout);
                lock (_supervisorGate)
                {
                    escalate = _supervisor.Evaluate(now, overdue);
                    wait = _supervisor.NextLook(now, overdue.Outstanding, _options.SupervisionInterval, _options.HeartbeatInterval);
                }
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex)
            {
                _errors.Report("supervision", LogLevel.Error, $"Supervision could not read the outbox: {ex.Message}");
                continue;
            }

            foreach (var alarm in escalate)
            {
                _log.LogError("Alarm {AlarmId} ({Type}, seq {Seq}) was received by the centre but not accepted by an operator within {Timeout}: escalating", alarm.Alarm.AlarmId, alarm.Alarm.Type, alarm.Seq, _options.AcceptedTimeout);
                AlarmEscalated?.Invoke(alarm);
                if (_options.EscalateByResend && _transport.IsConnected)
                {
                    var message = alarm.ToMessage(_options.GatewayId, _time.GetUtcNow(), alarm.Attempts + 1);
                    if (await _transport.PublishAlarmAsync(message, ct))
                    {
                        try
                        {
                            await _outbox.MarkSentAsync([message.AlarmId], message.SentAt, ct);
                        }
                        catch (Exception ex) when (ex is OutboxFullException or Microsoft.Data.Sqlite.SqliteException)
                        {
                            _errors.Report("mark-sent", LogLevel.Warning, $"Could not record the escalated send of {message.AlarmId}: {ex.Message}");
                        }

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
                _errors.Report("test-alarm", LogLevel.Error, $"Could not raise the end-to-end test alarm: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// The store is over its bound, its disk is full, or its reserve could not be made: say so locally at once, and
    /// tell the centre once per run with a <c>gateway-fault</c> alarm (raised by the fault loop, which retries with
    /// back-off until the alarm is stored: the store may be the very thing that is full).
    /// </summary>
    private void OnStorageWarning(string problem)
    {
        lock (_supervisorGate)
        {
            _supervisor.StorageProblem(problem);
        }

        if (_outbox.IsShedding)
        {
            try
            {
                _pruneSignal.Release(); // a full disk: start looking for space to take the reserve back
            }
            catch (ObjectDisposedException)
            {
            }
        }

        if (Interlocked.Exchange(ref _storageFaultReported, 1) == 1)
        {
            return;
        }

        lock (_faults)
        {
            _faults.Enqueue($"Gateway self-check: {problem} No alarm was dropped. A technician should check the gateway.");
        }

        try
        {
            _faultSignal.Release();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task FaultLoopAsync(CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            string? reason;
            lock (_faults)
            {
                _faults.TryPeek(out reason);
            }

            if (reason is null)
            {
                await _faultSignal.WaitAsync(ct);
                continue;
            }

            try
            {
                var alarm = await _raiser.RaiseAsync(new AlarmRequest(AlarmType.GatewayFault, null, null, reason, _time.GetUtcNow()), ct);
                lock (_faults)
                {
                    _faults.Dequeue();
                }

                failures = 0;
                _log.LogError("Raised technical alarm {AlarmId}: {Reason}", alarm.AlarmId, reason);
                GatewayFaultRaised?.Invoke(alarm.AlarmId);
                NotifyNewAlarm();
            }
            catch (Exception ex) when (ex is OutboxFullException or Microsoft.Data.Sqlite.SqliteException or IOException)
            {
                failures++;
                _errors.Report("fault", LogLevel.Critical, $"Could not raise the alarm about the store ({ex.Message}); trying again");
                await RuleRunner.StorageBackoff.WaitAsync(failures, Random.Shared.NextDouble, _time, ct);
            }
        }
    }

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

        _log.LogInformation("End-to-end test alarm {AlarmId} answered by the centre: round trip {RoundTrip}", alarmId, HumanTime.Duration(roundTrip));
        TestAlarmAnswered?.Invoke(alarmId, roundTrip);
    }

    private void OnHeartbeatAnswer(HeartbeatAckMessage answer)
    {
        if (answer.GatewayId != _options.GatewayId)
        {
            _log.LogWarning("Rejected a heartbeat answer: it names gateway {Other}", answer.GatewayId);
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

    /// <summary>Passes every warning change to the current <see cref="Indicator"/> and to <see cref="LocalWarningChanged"/>.</summary>
    private sealed class RelayIndicator(Forwarder owner) : ILocalIndicator
    {
        public void Show(LocalWarning warning, bool active, string reason)
        {
            owner.Indicator.Show(warning, active, reason);
            owner.LocalWarningChanged?.Invoke(warning, active, reason);
        }
    }
}
