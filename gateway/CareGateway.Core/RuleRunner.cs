using System.Threading.Channels;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging;

namespace CareGateway.Core;

/// <summary>
/// Runs the <see cref="RuleEngine"/> on one loop: sensor events from any thread and the engine's own timer go through
/// one channel, so the rules are evaluated one input at a time, in order. Each alarm is handed to
/// <see cref="AlarmRaiser"/>, which returns once the alarm is durable.
/// </summary>
public sealed class RuleRunner : IDisposable
{
    private RuleEngine _engine;
    private EngineSwap? _pendingSwap;
    private readonly AlarmRaiser _raiser;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<object> _inputs = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ITimer _timer;

    public RuleRunner(RuleEngine engine, AlarmRaiser raiser, TimeProvider time, ILogger log)
    {
        _engine = engine;
        _raiser = raiser;
        _time = time;
        _log = log;
        _timer = time.CreateTimer(_ => _inputs.Writer.TryWrite(Tick.Instance), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Raised on the rule loop for each sensor event, before the rules evaluate it.</summary>
    public event Action<SensorEvent>? EventSeen;

    /// <summary>Queues a sensor event; safe from any thread (GPIO callbacks, MQTT handlers).</summary>
    public void Post(SensorEvent sensorEvent) => _inputs.Writer.TryWrite(sensorEvent);

    /// <summary>
    /// Replaces the rules (a new care profile) on the rule loop, between two inputs, so that no input sees half of each.
    /// While the current rules wait on a timer (a door left open at night), the swap waits until that is decided, so a
    /// pending alarm is never dropped by a profile change. The task completes when the new rules are in use.
    /// </summary>
    public Task ReplaceEngineAsync(Func<RuleEngine> create)
    {
        var swap = new EngineSwap(create);
        _inputs.Writer.TryWrite(swap);
        return swap.Done.Task;
    }

    /// <summary>Completes when every input posted before the call has been evaluated and its alarms stored.</summary>
    public Task DrainAsync()
    {
        var marker = new Marker();
        _inputs.Writer.TryWrite(marker);
        return marker.Done.Task;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await foreach (var input in _inputs.Reader.ReadAllAsync(cancellationToken))
        {
            try
            {
                var alarms = input switch
                {
                    SensorEvent e => Evaluate(e),
                    Tick => _engine.OnTime(_time.GetUtcNow()),
                    Marker m => Complete(m),
                    EngineSwap swap => Queue(swap),
                    _ => [],
                };

                foreach (var alarm in alarms)
                {
                    await _raiser.RaiseAsync(alarm, cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                // One bad input must not stop the rules for every other sensor.
                _log.LogError(ex, "Rule evaluation failed for {Input}; the gateway carries on", input);
            }

            SwapIfIdle();
            Reschedule();
        }
    }

    public void Dispose() => _timer.Dispose();

    private IReadOnlyList<AlarmRequest> Evaluate(SensorEvent e)
    {
        EventSeen?.Invoke(e);

        // The engine reasons about states; health events (offline, online, heard) are seen but carry no new state.
        return e.Type == SensorEventType.State ? _engine.OnEvent(e) : [];
    }

    private static IReadOnlyList<AlarmRequest> Complete(Marker marker)
    {
        marker.Done.TrySetResult();
        return [];
    }

    private IReadOnlyList<AlarmRequest> Queue(EngineSwap swap)
    {
        _pendingSwap?.Done.TrySetResult(); // superseded by a newer profile before it was used
        _pendingSwap = swap;
        return [];
    }

    private void SwapIfIdle()
    {
        if (_pendingSwap is { } swap && _engine.NextDue is null)
        {
            _pendingSwap = null;
            try
            {
                _engine = swap.Create();
                swap.Done.TrySetResult();
            }
            catch (Exception ex)
            {
                _log.LogError(ex, "New rules could not be built; the rules in use stay");
                swap.Done.TrySetException(ex);
            }
        }
    }

    private void Reschedule()
    {
        if (_engine.NextDue is { } due)
        {
            var wait = due - _time.GetUtcNow();
            _timer.Change(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
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
