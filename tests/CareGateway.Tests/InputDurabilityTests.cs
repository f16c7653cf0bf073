using CareGateway.Core;
using CareGateway.Resilience;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>
/// When an input's effect is durable (RuleRunner.PostAsync; the Zigbee client acknowledges a message only then): its
/// alarms are stored, and for an input that starts or stops a timer the state is saved; a store that fails is retried
/// with back-off and nothing completes before the alarm is stored; a state save that fails backs off and logs once.
/// </summary>
public class InputDurabilityTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_press_is_durable_only_once_its_alarm_is_stored_and_a_failing_store_is_retried_with_back_off()
    {
        var clock = new FakeTimeProvider(T0);
        var outbox = new FlakyOutbox { FailuresLeft = 2 };
        var runner = new RuleRunner(Home.Engine(), new AlarmRaiser(outbox, () => new CareProfile()), clock, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var running = runner.RunAsync(stop.Token);

        var durable = runner.PostAsync(Home.Ev(Home.Panic, true, T0));
        await outbox.Attempted.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(durable.IsCompleted, "not durable while the alarm could not be stored");
        // Waiting to retry counts as alive for the watchdog (the loop enters the wait just after the failed attempt).
        var alive = false;
        for (var i = 0; i < 500 && !alive; i++)
        {
            alive = runner.AliveAsync().IsCompletedSuccessfully;
            await Task.Delay(10);
        }

        Assert.True(alive, "waiting for storage counts as alive for the watchdog");

        // The back-off: 0.5-1 s after the first failure, then 1-2 s.
        for (var i = 0; i < 40 && !durable.IsCompleted; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Yield();
            await Task.WhenAny(durable, Task.Delay(20));
        }

        await durable.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(outbox.Stored);
        Assert.Equal(3, outbox.Attempts);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        runner.Dispose();
    }

    [Fact]
    public async Task A_state_save_that_fails_is_logged_once_and_tried_again_later_not_at_once()
    {
        var clock = new FakeTimeProvider(T0);
        var store = new FailingStore();
        var log = new CountingLogger();
        var runner = new RuleRunner(Home.Engine(), new AlarmRaiser(new MemoryOutbox(), () => new CareProfile()), clock, log, store);
        using var stop = new CancellationTokenSource();
        var running = runner.RunAsync(stop.Token);

        // Door events start timers: each wants its save; the disk is full. Each event is durable all the same (its
        // alarms, none here, are stored; the state write is shed), and the log says it once.
        for (var i = 0; i < 50; i++)
        {
            await runner.PostAsync(Home.Ev(Home.FrontDoor, i % 2 == 0, T0)).WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Equal(50, store.Attempts);
        Assert.Equal(1, log.Errors);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        runner.Dispose();
    }

    [Fact]
    public void The_repeated_error_log_writes_one_line_per_cause_per_minute_with_the_count()
    {
        var clock = new FakeTimeProvider(T0);
        var log = new CountingLogger();
        var errors = new RepeatedErrorLog(log, clock);
        for (var i = 0; i < 1000; i++)
        {
            errors.Report("disk", LogLevel.Error, "disk full");
            errors.Report("broker", LogLevel.Warning, "refused");
        }

        Assert.Equal(2, log.Lines.Count);
        clock.Advance(TimeSpan.FromMinutes(1));
        errors.Report("disk", LogLevel.Error, "disk full");
        Assert.Contains("and 999 more times in the last 60 s", log.Lines[^1], StringComparison.Ordinal);
        errors.Recovered("disk", "disk fine");
        Assert.Contains("after 1001 failures", log.Lines[^1], StringComparison.Ordinal);
        Assert.Equal(4, errors.LinesWritten);
    }

    private sealed class FlakyOutbox : IAlarmOutbox
    {
        private readonly TaskCompletionSource _attempted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int FailuresLeft { get; set; }

        public int Attempts { get; private set; }

        public Task Attempted => _attempted.Task;

        public List<NewAlarm> Stored { get; } = [];

        public Task<long> AddAsync(NewAlarm alarm, CancellationToken cancellationToken)
        {
            Attempts++;
            _attempted.TrySetResult();
            if (FailuresLeft-- > 0)
            {
                throw new IOException("database or disk is full");
            }

            Stored.Add(alarm);
            return Task.FromResult((long)Stored.Count);
        }
    }

    private sealed class FailingStore : IRuleStateStore
    {
        public int Attempts { get; private set; }

        public RuleSnapshot? Load() => null;

        public void Save(RuleSnapshot snapshot)
        {
            Attempts++;
            throw new IOException("No space left on device");
        }
    }

    private sealed class CountingLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public int Errors => Lines.Count(l => l.StartsWith("Error", StringComparison.Ordinal));

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add($"{logLevel}: {formatter(state, exception)}");
            }
        }
    }
}
