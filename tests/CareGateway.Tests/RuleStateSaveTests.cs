using CareGateway.Core;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>
/// Group commit: the inputs waiting together (up to <see cref="RuleRunner.MaxBatch"/>) are evaluated, their alarms are
/// stored with one commit, and the rule state is saved (an fsync) right after. A burst of activity reports that raise
/// nothing is saved once, when the queue is empty or at most <see cref="RuleRunner.MaxUnsavedTime"/> later: a busy
/// motion sensor must not cost one fsync per report (docs/performance.md). Inputs that start timers save with their batch.
/// </summary>
public class RuleStateSaveTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Activity_reports_that_raise_nothing_are_saved_once_when_the_bound_runs_out_with_the_last_one_in_it()
    {
        var clock = new FakeTimeProvider(T0);
        var (outbox, store, runner) = Create(clock);
        using var stop = new CancellationTokenSource();
        var running = runner.RunAsync(stop.Token);

        // Reports one at a time, as a busy motion sensor sends them: none pays for a save of its own.
        for (var i = 0; i < 40; i++)
        {
            runner.Post(Home.Ev(Home.HallMotion, i % 2 == 0, T0.AddMilliseconds(i * 20)));
            await runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Empty(store.Saves);

        // The loop's timer wakes it when the oldest unsaved report is MaxUnsavedTime old.
        clock.Advance(RuleRunner.MaxUnsavedTime);
        await runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var saved = Assert.Single(store.Saves);
        Assert.Equal(0, saved.Alarms);
        Assert.True(RuleSnapshot.FromJson(saved.Json)!.LastActivityAt >= T0.AddMilliseconds(38 * 20), "the save holds the last reports");
        Assert.Empty(outbox.Alarms);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        runner.Dispose();
    }

    [Fact]
    public async Task The_alarms_of_a_burst_are_stored_with_one_commit_and_the_state_is_saved_once_after_them()
    {
        var (outbox, store, runner) = Create();
        runner.Post(Home.Ev(Home.Panic, true, T0));
        for (var i = 0; i < 20; i++)
        {
            runner.Post(Home.Ev(Home.HallMotion, i % 2 == 0, T0.AddSeconds(i + 1)));
        }

        runner.Post(Home.Ev(Home.Smoke, true, T0.AddSeconds(30)));
        await RunUntilDrainedAsync(runner);

        Assert.Equal([Protocol.AlarmType.Panic, Protocol.AlarmType.Smoke], outbox.Alarms.Select(a => a.Type));
        Assert.Equal([2], outbox.Commits); // both alarms in one commit
        var saved = Assert.Single(store.Saves);
        Assert.Equal(2, saved.Alarms); // saved only once the alarms were durable
    }

    [Fact]
    public async Task A_lone_input_is_not_held_back_to_wait_for_company()
    {
        var (outbox, store, runner) = Create();
        using var stop = new CancellationTokenSource();
        var running = runner.RunAsync(stop.Token);

        runner.Post(Home.Ev(Home.Panic, true, T0));
        await runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1], outbox.Commits);
        Assert.Single(store.Saves);

        runner.Post(Home.Ev(Home.Smoke, true, T0.AddSeconds(1)));
        await runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1, 1], outbox.Commits);
        Assert.Equal(2, store.Saves.Count);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        runner.Dispose();
    }

    [Fact]
    public async Task In_a_long_burst_a_batch_with_an_alarm_or_a_door_is_saved_and_a_batch_of_only_activity_waits()
    {
        var (outbox, store, runner) = Create();
        runner.Post(Home.Ev(Home.Panic, true, T0));
        for (var i = 0; i < 2 * RuleRunner.MaxBatch; i++)
        {
            runner.Post(Home.Ev(Home.HallMotion, i % 2 == 0, T0.AddSeconds(i + 1)));
        }

        runner.Post(Home.Ev(Home.FrontDoor, true, T0.AddMinutes(10)));
        await RunUntilDrainedAsync(runner);

        // Batch 1 (the panic press and 63 reports): saved after its alarm. Batch 2 (64 reports, more waiting): deferred.
        // Batch 3 (the last report and the door, which starts a timer): saved.
        Assert.Single(outbox.Alarms);
        Assert.Equal(2, store.Saves.Count);
        Assert.DoesNotContain(Home.FrontDoor.Id, store.Saves[0].Json, StringComparison.Ordinal);
        Assert.Contains(Home.FrontDoor.Id, store.Saves[1].Json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deferred_save_never_waits_longer_than_the_bound_even_in_a_continuous_burst()
    {
        var clock = new FakeTimeProvider(T0);
        var (_, store, runner) = Create(clock);
        clock.Advance(RuleRunner.MaxUnsavedTime); // the last save is as old as allowed
        for (var i = 0; i < 2 * RuleRunner.MaxBatch + 2; i++)
        {
            runner.Post(Home.Ev(Home.HallMotion, i % 2 == 0, T0.AddSeconds(i)));
        }

        await RunUntilDrainedAsync(runner);

        Assert.Single(store.Saves); // the first batch at once (the bound); the rest waits for the next bound
    }

    private static (CommitCountingOutbox Outbox, CountingStore Store, RuleRunner Runner) Create(FakeTimeProvider? clock = null)
    {
        clock ??= new FakeTimeProvider(T0);
        var outbox = new CommitCountingOutbox();
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

    /// <summary>Counts commits: how many alarms each group commit held.</summary>
    private sealed class CommitCountingOutbox : IAlarmOutbox
    {
        private readonly MemoryOutbox _inner = new();

        public IReadOnlyList<NewAlarm> Alarms => _inner.Alarms;

        public List<int> Commits { get; } = [];

        public Task<long> AddAsync(NewAlarm alarm, CancellationToken cancellationToken)
        {
            Commits.Add(1);
            return _inner.AddAsync(alarm, cancellationToken);
        }

        public async Task<IReadOnlyList<AddOutcome>> AddUnlessOpenAsync(IReadOnlyList<NewAlarm> alarms, CancellationToken cancellationToken)
        {
            Commits.Add(alarms.Count);
            var result = new AddOutcome[alarms.Count];
            for (var i = 0; i < alarms.Count; i++)
            {
                result[i] = AddOutcome.Added(await _inner.AddAsync(alarms[i], cancellationToken));
            }

            return result;
        }
    }

    private sealed class CountingStore(CommitCountingOutbox outbox) : IRuleStateStore
    {
        public List<(int Alarms, string Json)> Saves { get; } = [];

        public RuleSnapshot? Load() => null;

        public void Save(RuleSnapshot snapshot) => Saves.Add((outbox.Alarms.Count, snapshot.ToJson()));
    }
}
