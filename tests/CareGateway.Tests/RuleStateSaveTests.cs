using CareGateway.Core;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>
/// The rule state is saved (an fsync) once an input's alarms are stored, but a burst of activity reports that raise
/// nothing is saved once, when the queue is empty or at most <see cref="RuleRunner.MaxUnsavedTime"/> later: a busy
/// motion sensor must not cost one fsync per report (docs/performance.md). Inputs that start timers save at once.
/// </summary>
public class RuleStateSaveTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_burst_of_inputs_that_raise_nothing_is_saved_once_with_the_last_input_in_it()
    {
        var (outbox, store, runner) = Create();
        for (var i = 0; i < 40; i++)
        {
            runner.Post(Home.Ev(Home.HallMotion, i % 2 == 0, T0.AddSeconds(i)));
        }

        await RunUntilDrainedAsync(runner);

        var saved = Assert.Single(store.Saves);
        Assert.Equal(0, saved.Alarms);
        Assert.Contains(Home.HallMotion.Id, saved.Json, StringComparison.Ordinal);
        Assert.Empty(outbox.Alarms);
    }

    [Fact]
    public async Task An_input_that_raises_an_alarm_is_saved_before_the_inputs_waiting_behind_it()
    {
        var (outbox, store, runner) = Create();
        runner.Post(Home.Ev(Home.Panic, true, T0));
        for (var i = 0; i < 20; i++)
        {
            runner.Post(Home.Ev(Home.HallMotion, i % 2 == 0, T0.AddSeconds(i + 1)));
        }

        await RunUntilDrainedAsync(runner);

        Assert.Single(outbox.Alarms);
        Assert.Equal(2, store.Saves.Count);
        Assert.Equal(1, store.Saves[0].Alarms); // right after the panic alarm was stored, with 20 inputs still queued
        Assert.Equal(1, store.Saves[1].Alarms); // the burst behind it, once the queue was empty
    }

    [Fact]
    public async Task A_door_opening_in_the_middle_of_a_burst_is_saved_at_once_because_it_starts_a_timer()
    {
        var (_, store, runner) = Create();
        runner.Post(Home.Ev(Home.HallMotion, true, T0));
        runner.Post(Home.Ev(Home.FrontDoor, true, T0.AddSeconds(1)));
        for (var i = 0; i < 10; i++)
        {
            runner.Post(Home.Ev(Home.HallMotion, i % 2 == 0, T0.AddSeconds(i + 2)));
        }

        await RunUntilDrainedAsync(runner);

        Assert.Equal(2, store.Saves.Count);
        Assert.Contains(Home.FrontDoor.Id, store.Saves[0].Json, StringComparison.Ordinal); // saved with 10 inputs still queued
    }

    [Fact]
    public async Task A_deferred_save_never_waits_longer_than_the_bound_even_in_a_continuous_burst()
    {
        var clock = new FakeTimeProvider(T0);
        var (_, store, runner) = Create(clock);
        clock.Advance(RuleRunner.MaxUnsavedTime); // the last save is as old as allowed
        for (var i = 0; i < 10; i++)
        {
            runner.Post(Home.Ev(Home.HallMotion, i % 2 == 0, T0.AddSeconds(i)));
        }

        await RunUntilDrainedAsync(runner);

        Assert.Equal(2, store.Saves.Count); // the first report at once (the bound), the rest with the end of the burst
    }

    private static (MemoryOutbox Outbox, CountingStore Store, RuleRunner Runner) Create(FakeTimeProvider? clock = null)
    {
        clock ??= new FakeTimeProvider(T0);
        var outbox = new MemoryOutbox();
        var store = new CountingStore(outbox);
        var runner = new RuleRunner(Home.Engine(), new AlarmRaiser(outbox, () => new CareProfile()), clock, NullLogger.Instance, store);
        return (outbox, store, runner);
    }

    // Every input is queued before the loop starts, so the loop sees the whole burst waiting.
    private static async Task RunUntilDrainedAsync(RuleRunner runner)
    {
        using var stop = new CancellationTokenSource();
        var drained = runner.DrainAsync();
        var running = runner.RunAsync(stop.Token);
        await drained.WaitAsync(TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        runner.Dispose();
    }

    private sealed class CountingStore(MemoryOutbox outbox) : IRuleStateStore
    {
        public List<(int Alarms, string Json)> Saves { get; } = [];

        public RuleSnapshot? Load() => null;

        public void Save(RuleSnapshot snapshot) => Saves.Add((outbox.Alarms.Count, snapshot.ToJson()));
    }
}
