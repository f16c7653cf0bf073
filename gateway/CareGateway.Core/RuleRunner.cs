using System.Threading.Channels;
using CareGateway.Resilience;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging;

namespace CareGateway.Core;

/// <summary>
/// Runs the <see cref="RuleEngine"/> on one loop: sensor events from any thread and the engine's own timer go through
/// one channel, so the rules are evaluated one input at a time, in order. The alarms of the inputs waiting together
/// are handed to <see cref="AlarmRaiser"/> at once (group commit), which returns once they are durable.
/// </summary>
/// <remarks>
/// <para>
/// <b>When an input's effect is durable</b> (<see cref="PostAsync"/>; the Zigbee client acknowledges a message to the
/// broker only then): every alarm it raised is stored in the outbox (fsynced), and, for an input that starts or stops
/// a rule's timer (door, bed, button, fall, smoke, water, an offline or health report), the rules' state is saved with
/// it. A high-rate activity report (motion or presence state, a "heard" report) only defers its save, at most
/// <see cref="MaxUnsavedTime"/>: it counts as durable once its alarms are stored, because what a crash can lose of it is
/// at most that much of "last seen moving", which only makes an inactivity alarm come that much earlier, never later
/// or not at all. While the rules' state cannot be written (a full disk: state writes are shed before alarms), inputs
/// count as durable once their alarms are stored, and the save is retried with back-off.
/// </para>
/// <para>
/// Storing alarms is retried with back-off until it succeeds (a full disk): no alarm is dropped, and the inputs behind
/// wait (Zigbee messages stay unacknowledged at the broker). <see cref="AliveAsync"/> answers the watchdog meanwhile.
/// </para>
/// </remarks>
public sealed class RuleRunner : IDisposable
{
    private RuleEngine _engine;
    private readonly AlarmRaiser _raiser;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<object> _inputs = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ITimer _timer;
    private readonly IRuleStateStore? _store;
    private readonly RepeatedErrorLog _errors;
    private bool _unsaved;
    private DateTimeOffset _lastSave;
    private int _saveFailures;
    private DateTimeOffset? _saveRetryAt;
    private volatile bool _waitingForStorage;
    private (DateTimeOffset Since, string Cause, int Offline, bool Reported)? _outage;

    /// <summary>How storing alarms and saving the rules' state back off after failures (a full disk): 1 s doubling to 1 min.</summary>
    public static readonly Backoff StorageBackoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));

    /// <summary>The longest a deferred save may wait during a continuous burst of activity reports.</summary>
    public static readonly TimeSpan MaxUnsavedTime = TimeSpan.FromSeconds(1);

    /// <param name="engine">The rules.</param>
    /// <param name="raiser">Stores each alarm.</param>
    /// <param name="time">Clock and timer.</param>
    /// <param name="log">Where failures go.</param>
    /// <param name="store">
    /// Keeps the engine's state between restarts: loaded here, saved after each batch whose alarms are stored or whose
    /// inputs start or stop timers; activity reports that raised nothing are saved together at most
    /// <see cref="MaxUnsavedTime"/> later.
    /// </param>
    public RuleRunner(RuleEngine engine, AlarmRaiser raiser, TimeProvider time, ILogger log, IRuleStateStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _raiser = raiser;
        _time = time;
        _log = log;
        _store = store;
        _errors = new RepeatedErrorLog(log, time);
        _lastSave = time.GetUtcNow();
        _timer = time.CreateTimer(_ => _inputs.Writer.TryWrite(Tick.Instance), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (store?.Load() is { } saved)
        {
            engine.Restore(saved);
            engine.ForgetUnjudgedOfflineReports(); // the Zigbee driver reports afresh what is still down

            // Timers that ran out while the gateway was down fire as soon as the loop runs.
            _inputs.Writer.TryWrite(Tick.Instance);
        }
    }

    /// <summary>Raised on the rule loop for each sensor event, before the rules evaluate it.</summary>
    public event Action<SensorEvent>? EventSeen;

    /// <summary>Queues a sensor event; safe from any thread (GPIO callbacks, MQTT handlers).</summary>
    public void Post(SensorEvent sensorEvent) => _inputs.Writer.TryWrite(sensorEvent);

    /// <summary>
    /// Queues a sensor event; the task completes once its effect is durable (see the remarks of <see cref="RuleRunner"/>):
    /// whoever handed it over (the broker, for a Zigbee message) may then forget it.
    /// </summary>
    public Task PostAsync(SensorEvent sensorEvent)
    {
        var input = new DurableInput(sensorEvent);
        if (!_inputs.Writer.TryWrite(input))
        {
            return Task.FromCanceled(new CancellationToken(canceled: true));
        }

        return input.Done.Task;
    }

    /// <summary>
    /// For the watchdog: completes when the loop is alive, that is once it has handled what is queued now, or at once
    /// while it is waiting to retry storing (a full disk is not a hang, and a restart would lose what waits in memory).
    /// </summary>
    public Task AliveAsync() => _waitingForStorage ? Task.CompletedTask : DrainAsync();

    /// <summary>
    /// Replaces the rules (a new care profile) on the rule loop, between two inputs, so that no input sees half of each.
    /// The new rules continue from the old rules' state: a case already in the making (a door left open at night) keeps
    /// the deadline it was given, so a profile change never drops a pending alarm. The task completes when the new
    /// rules are in use.
    /// </summary>
    public Task ReplaceEngineAsync(Func<RuleEngine> create)
    {
        var swap = new EngineSwap(create);
        _inputs.Writer.TryWrite(swap);
        return swap.Done.Task;
    }

    /// <summary>Queues a command that sets (true) or ends (false) the away state, e.g. from the centre.</summary>
    public void PostAway(bool away, string source) => _inputs.Writer.TryWrite(new AwayCommand(away, source));

    /// <summary>Starts or ends the visitor state (home care or a visitor present), like the visitor button.</summary>
    public void PostVisitor(bool visitor, string source) => _inputs.Writer.TryWrite(new VisitorCommand(visitor, source));

    /// <summary>
    /// Completes when every input posted before the call has been evaluated, its alarms stored and the rules' timer set.
    /// </summary>
    public Task DrainAsync()
    {
        var marker = new Marker();
        _inputs.Writer.TryWrite(marker);
        return marker.Done.Task;
    }

    /// <summary>The most inputs evaluated before their alarms are stored together (one commit for all).</summary>
    public const int MaxBatch = 64;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var requests = new List<AlarmRequest>();
        var markers = new List<Marker>();
        var durable = new List<DurableInput>();
        while (await _inputs.Reader.WaitToReadAsync(cancellationToken))
        {
            // Group commit: every input already waiting (up to MaxBatch) is evaluated, in order, and their alarms are
            // stored with one commit. A lone input is a batch of one, so nothing waits for company; a burst costs one
            // fsync instead of one per alarm. The alarms of a batch are durable before anything after it is evaluated.
            requests.Clear();
            markers.Clear();
            durable.Clear();
            var mustSave = false;
            for (var n = 0; n < MaxBatch && _inputs.Reader.TryRead(out var queued); n++)
            {
                var input = queued;
                if (queued is DurableInput d)
                {
                    durable.Add(d);
                    input = d.Event;
                }

                try
                {
                    var alarms = input switch
                    {
                        SensorEvent e => Evaluate(e),
                        Tick => _engine.OnTime(_time.GetUtcNow()),
                        AwayCommand c => _engine.SetAway(c.Away, _time.GetUtcNow(), c.Source),
                        VisitorCommand c => _engine.SetVisitor(c.Visitor, _time.GetUtcNow(), c.Source),
                        EngineSwap swap => Swap(swap),
                        _ => [],
                    };
                    requests.AddRange(alarms);
                    NoteOutage();
                }
                catch (Exception ex)
                {
                    // One bad input must not stop the rules for every other sensor.
                    _log.LogError(ex, "Rule evaluation failed for {Input}; the gateway carries on", input);
                }

                if (input is Marker marker)
                {
                    markers.Add(marker);
                }
                else
                {
                    _unsaved = true;
                    mustSave |= !Deferrable(input);
                }
            }

            if (requests.Count > 0)
            {
                var stored = await StoreAsync(requests, cancellationToken);
                for (var i = 0; i < stored.Count; i++)
                {
                    if (stored[i] is null)
                    {
                        _log.LogInformation("Alarm '{Type}' for {Sensor} not stored: one is still open at the centre", requests[i].Type, requests[i].SensorId ?? "-");
                    }
                }
            }

            var now = _time.GetUtcNow();
            if (_unsaved && (requests.Count > 0 || mustSave || now >= (_saveRetryAt ?? _lastSave + MaxUnsavedTime)))
            {
                // Only after the alarms are durable: a crash in between re-raises, and the outbox check drops the copy.
                // High-rate activity reports (motion, presence, a health report) that raised nothing do not pay for a
                // save (an fsync) each: they are saved with the next alarm or other input, and never later than
                // MaxUnsavedTime (the timer wakes the loop for it; docs/performance.md). A crash loses at most that
                // much of "last seen moving", which only moves an inactivity alarm that much earlier.
                // Door, bed, button and fault inputs, which start and stop the rules' timers, are saved with their batch.
                SaveState(now);
            }

            // Every input of the batch is now durable (or its state write shed while the disk is full, said loudly).
            foreach (var input in durable)
            {
                input.Done.TrySetResult();
            }

            // The timer first: whoever waited for the drain may move the clock on at once.
            Reschedule();
            foreach (var marker in markers)
            {
                marker.Done.TrySetResult();
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>Stores the alarms of a batch, retrying with back-off until it succeeds: an alarm is never dropped.</summary>
    private async Task<IReadOnlyList<NewAlarm?>> StoreAsync(List<AlarmRequest> requests, CancellationToken ct)
    {
        for (var failures = 1; ; failures++)
        {
            try
            {
                var stored = await _raiser.RaiseUnlessOpenAsync(requests, ct);
                if (failures > 1)
                {
                    _errors.Recovered("store", $"The {requests.Count} alarms waiting on the rule loop are stored now");
                }

                return stored;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                var wait = StorageBackoff.Delay(failures, Random.Shared.NextDouble());
                _errors.Report("store", LogLevel.Critical, $"Cannot store {requests.Count} alarms ({ex.Message}); they wait on the rule loop and storing is tried again (next in {wait.TotalSeconds:0.#} s). Free space on the gateway's disk.", failures == 1 ? ex : null);
                _waitingForStorage = true;
                try
                {
                    await Task.Delay(wait, _time, ct);
                }
                finally
                {
                    _waitingForStorage = false;
                }
            }
        }
    }

    /// <summary>Logs when a zigbee2mqtt outage is reported and when it is over (the alarm itself is the operator's to close).</summary>
    private void NoteOutage()
    {
        var now = _engine.ZigbeeOutage;
        if (now is { Reported: true } o && _outage is not { Reported: true })
        {
            _log.LogWarning("Zigbee outage ({Cause}) since {Since:u}: one zigbee-offline alarm for {Count} sensors instead of one per sensor", o.Cause, o.Since, o.Offline);
        }
        else if (now is null && _outage is { } was)
        {
            var lasted = _time.GetUtcNow() - was.Since;
            if (was.Reported)
            {
                _log.LogInformation("Zigbee outage ({Cause}) since {Since:u} is over after {Minutes:0.#} min: the sensors are heard again; its zigbee-offline alarm stays open for the operator to close", was.Cause, was.Since, lasted.TotalMinutes);
            }
            else
            {
                _log.LogInformation("Zigbee outage ({Cause}) since {Since:u} was over within {Seconds:0} s: no alarm", was.Cause, was.Since, RuleEngine.OutageGatherTime.TotalSeconds);
            }
        }

        _outage = now;
    }

    /// <summary>Saves the rules' state; a failure (a full disk) is logged once a minute and retried with back-off, not at once.</summary>
    private void SaveState(DateTimeOffset now)
    {
        if (_store is null)
        {
            _unsaved = false;
            return;
        }

        try
        {
            _store.Save(_engine.Snapshot());
            _unsaved = false;
            _lastSave = now;
            _saveRetryAt = null;
            if (_saveFailures > 0)
            {
                _saveFailures = 0;
                _errors.Recovered("save", "The rules' state is saved again");
            }
        }
#pragma warning disable CA1031 // whatever stops the save, the rules go on in memory; the save is tried again
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _saveFailures++;
            var wait = StorageBackoff.Delay(_saveFailures, Random.Shared.NextDouble());
            _saveRetryAt = now + wait;
            _lastSave = now;
            _errors.Report("save", LogLevel.Error, $"Cannot save the rules' state ({ex.Message}); the rules go on in memory and saving is tried again with back-off (next in {wait.TotalSeconds:0.#} s)");
        }
    }

    /// <summary>Reports that may share one save with the ones after them: high-rate activity, no timer of their own.</summary>
    private static bool Deferrable(object input) =>
        input is SensorEvent { Kind: SensorKind.Motion or SensorKind.Presence, Type: SensorEventType.State } or SensorEvent { Type: SensorEventType.Heard };

    private IReadOnlyList<AlarmRequest> Evaluate(SensorEvent e)
    {
        EventSeen?.Invoke(e);

        // Offline and online reports reach the technical rules as health; a "heard" report only for its health fields
        // (battery, tamper). The engine reads no new state from any of them.
        var forEngine = e.Type switch
        {
            SensorEventType.State => e,
            SensorEventType.Offline => e with { Health = (e.Health ?? new SensorHealth()) with { Offline = true } },
            SensorEventType.Online => e with { Health = (e.Health ?? new SensorHealth()) with { Offline = false } },
            _ when e.Health is not null => e,
            _ => null,
        };
        return forEngine is null ? [] : _engine.OnEvent(forEngine);
    }

    private IReadOnlyList<AlarmRequest> Swap(EngineSwap swap)
    {
        try
        {
            var next = swap.Create();
            next.Restore(_engine.Snapshot());
            _engine = next;
            swap.Done.TrySetResult();
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "New rules could not be built; the rules in use stay");
            swap.Done.TrySetException(ex);
        }

        return [];
    }

    private void Reschedule()
    {
        var due = _engine.NextDue;
        var saveAt = _saveRetryAt ?? _lastSave + MaxUnsavedTime;
        if (_unsaved && (due is null || saveAt < due))
        {
            due = saveAt; // a deferred save (or its retry) is due then (a tick saves)
        }

        if (due is not null)
        {
            var wait = due.Value - _time.GetUtcNow();
            _timer.Change(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private sealed record AwayCommand(bool Away, string Source);

    private sealed record VisitorCommand(bool Visitor, string Source);

    private sealed class DurableInput(SensorEvent e)
    {
        public SensorEvent Event { get; } = e;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed class EngineSwap(Func<RuleEngine> create)
    {
        public Func<RuleEngine> Create { get; } = create;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Marker
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
