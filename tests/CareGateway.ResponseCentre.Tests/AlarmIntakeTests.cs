using System.Collections.Concurrent;
using System.Reflection;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// A broker stand-in that holds every acknowledgement until the test opens the gate, and records the order they were
/// published in: while the writer waits on it, every alarm that arrives queues for the next group commit.
/// </summary>
public sealed class GatedAckSender : IAckSender, IDisposable
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstWaiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _reads = new(1, 1);

    public ConcurrentQueue<AckMessage> Sent { get; } = new();

    /// <summary>When set, asked for each acknowledgement as it is published: was its alarm already in the database?</summary>
    public Func<string, Task<bool>>? IsStored { get; init; }

    /// <summary>Acknowledgements published before their alarm was readable from the database (must stay empty).</summary>
    public ConcurrentQueue<string> SentBeforeStored { get; } = new();

    /// <summary>Completes when the first acknowledgement is waiting at the gate (its alarm is committed).</summary>
    public Task FirstWaiting => _firstWaiting.Task;

    public void Open() => _open.TrySetResult();

    public void Dispose() => _reads.Dispose();

    public async Task<bool> TrySendAsync(AckMessage ack, CancellationToken ct)
    {
        _firstWaiting.TrySetResult();
        await _open.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Sent.Enqueue(ack); // in call order once the gate is open (the awaits above then complete at once)
        if (IsStored is { } isStored)
        {
            // Before this send returns (the intake waits for it), one at a time so as not to flood the database.
            await _reads.WaitAsync(ct);
            try
            {
                if (!await isStored(ack.AlarmId))
                {
                    SentBeforeStored.Enqueue(ack.AlarmId);
                }
            }
            finally
            {
                _reads.Release();
            }
        }

        return true;
    }
}

/// <summary>
/// The group commit of the alarm intake (CentreCore.Intake.cs) under concurrent arrival, on SQLite and on a real
/// PostgreSQL: nothing lost, each alarm stored once with its copies counted, every copy answered <c>received</c> once,
/// answers only after the commit (each alarm readable from another connection when its answer is published), each gateway's alarms answered in its sequence order, several alarms per commit.
/// </summary>
public abstract class AlarmIntakeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 19, 0, TimeSpan.Zero);

    protected abstract Task<ICentreStore> NewStoreAsync();

    private static CentreCore Core(ICentreStore store, IAckSender sender) =>
        new(store, sender, new CentreEvents(), new FakeTimeProvider(T0), new CentreSettings { CentreId = "centre-test" }, NullLogger<CentreCore>.Instance);

    [Fact]
    public async Task Alarms_arriving_together_from_many_gateways_are_stored_once_each_copies_counted_and_every_copy_answered_in_seq_order()
    {
        var store = await NewStoreAsync();
        using var sender = new GatedAckSender { IsStored = async id => (await store.FindAlarmsAsync(id, default)).Count > 0 };
        await using var core = Core(store, sender);

        // The first alarm is committed and its answer held at the gate: everything else arrives meanwhile.
        var first = core.OnAlarmAsync(CentreCoreTests.Message("first", 1, gateway: "gw-first"), default);
        await sender.FirstWaiting.WaitAsync(TimeSpan.FromSeconds(30));

        // Eight gateways' alarms arrive at once from eight threads; each gateway sends in seq order, and every fifth
        // alarm arrives a second time straight after (a re-send).
        const int gateways = 8, perGateway = 25;
        var submitted = await Task.WhenAll(Enumerable.Range(0, gateways).Select(g => Task.Run(() =>
        {
            var tasks = new List<Task>();
            for (var seq = 1; seq <= perGateway; seq++)
            {
                var message = CentreCoreTests.Message($"g{g}-s{seq}", seq, gateway: $"gw-{g}");
                tasks.Add(core.OnAlarmAsync(message, default));
                if (seq % 5 == 0)
                {
                    tasks.Add(core.OnAlarmAsync(message with { Attempt = 2 }, default));
                }
            }

            return tasks;
        })));

        // All of them are queued; none is answered while the first batch's answer is held.
        Assert.Empty(sender.Sent);
        sender.Open();
        await first.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(submitted.SelectMany(t => t)).WaitAsync(TimeSpan.FromSeconds(60));

        var expected = gateways * perGateway;
        var copies = gateways * (perGateway / 5);
        Assert.Equal(1 + expected + copies, sender.Sent.Count);
        Assert.Empty(sender.SentBeforeStored); // 'received' only for an alarm another connection can already read: committed
        Assert.All(sender.Sent, a => Assert.Equal((AckState.Received, "centre-test"), (a.State, a.By)));
        for (var g = 0; g < gateways; g++)
        {
            var ids = Enumerable.Range(1, perGateway).Select(seq => $"g{g}-s{seq}").ToList();
            var answered = sender.Sent.Where(a => a.GatewayId == $"gw-{g}").Select(a => a.AlarmId).ToList();
            Assert.Equal(ids, answered.Distinct()); // in the gateway's seq order
            Assert.Equal(perGateway + (perGateway / 5), answered.Count); // every copy answered once
            Assert.Equal(Enumerable.Range(1, perGateway).Select(s => (long)s), await store.KnownSeqsAsync($"gw-{g}", 1, perGateway, default));
            foreach (var (id, seq) in ids.Select((id, i) => (id, i + 1)))
            {
                var stored = await store.GetAlarmAsync(new AlarmKey($"gw-{g}", id), default);
                Assert.NotNull(stored);
                Assert.Equal(seq % 5 == 0 ? 2 : 1, stored.Copies);
                Assert.Equal(seq % 5 == 0 ? 2 : 1, (await store.AcksAsync(new AlarmKey($"gw-{g}", id), default)).Count);
            }
        }

        Assert.Equal(1 + expected, (await store.OpenAlarmsAsync(default)).Count);
        Assert.Empty(await store.UnsentAcksAsync(1000, default));
        var (batches, alarms) = core.IntakeCounts;
        Assert.Equal(1 + expected + copies, alarms);
        Assert.Equal(2, batches); // the first alone, then everything that gathered while its answer was held
    }

    [Fact]
    public async Task A_failed_batch_is_stored_one_by_one_so_every_alarm_is_still_stored_and_answered()
    {
        var inner = await NewStoreAsync();
        var store = FailingBatchStore.Wrap(inner);
        var sender = new RecordingAckSender();
        await using var core = Core(store, sender);

        var tasks = Enumerable.Range(1, 20).Select(seq => core.OnAlarmAsync(CentreCoreTests.Message($"f-{seq}", seq), default)).ToList();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(20, (await inner.OpenAlarmsAsync(default)).Count);
        Assert.All(await inner.OpenAlarmsAsync(default), a => Assert.Equal(1, a.Copies));
        Assert.Equal(Enumerable.Range(1, 20).Select(s => $"f-{s}"), sender.Sent.Select(a => a.AlarmId));
        Assert.Equal((0L, 0L), core.IntakeCounts);
    }

    [Fact]
    public async Task A_test_alarm_in_a_batch_is_answered_received_and_then_closed_by_the_centre()
    {
        var store = await NewStoreAsync();
        var sender = new RecordingAckSender();
        await using var core = Core(store, sender);

        await Task.WhenAll(
            core.OnAlarmAsync(CentreCoreTests.Message("t-1", 1, type: AlarmType.Test), default),
            core.OnAlarmAsync(CentreCoreTests.Message("t-2", 2), default),
            core.OnAlarmAsync(CentreCoreTests.Message("t-3", 3, type: AlarmType.LowBattery), default));

        Assert.Equal(HandlingStatus.Closed, (await store.GetAlarmAsync(new AlarmKey("gw-0042", "t-1"), default))!.Status);
        Assert.Equal([AckState.Received, AckState.Closed], sender.Sent.Where(a => a.AlarmId == "t-1").Select(a => a.State));
        Assert.Equal("t-3", Assert.Single(await store.SensorsNeedingAttentionAsync(default)).AlarmId);
        Assert.Equal(["t-2", "t-3"], (await store.OpenAlarmsAsync(default)).Select(a => a.AlarmId).Order());
    }

    /// <summary>A store whose group commit always fails (the database refusing a batch); everything else goes through.</summary>
    public class FailingBatchStore : DispatchProxy
    {
        private ICentreStore _inner = null!;

        public static ICentreStore Wrap(ICentreStore inner)
        {
            var proxy = Create<ICentreStore, FailingBatchStore>();
            ((FailingBatchStore)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod!.Name == nameof(ICentreStore.CommitIntakeAsync)
                ? Task.FromException<IntakeCommit>(new InvalidOperationException("the database refused the batch"))
                : targetMethod.Invoke(_inner, args);
    }
}

public sealed class SqliteAlarmIntakeTests : AlarmIntakeTests, IDisposable
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<ICentreStore> NewStoreAsync() => _stores.NewAsync();

    public void Dispose() => _stores.Dispose();
}

[Collection(PostgresGroup.Name)]
public sealed class PostgresAlarmIntakeTests(PostgresServer server) : AlarmIntakeTests, IAsyncDisposable
{
    private readonly PostgresTestStores _stores = new(server);

    protected override Task<ICentreStore> NewStoreAsync() => _stores.NewAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
