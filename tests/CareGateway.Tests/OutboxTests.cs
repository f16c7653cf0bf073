using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Uplink;

namespace CareGateway.Tests;

public class OutboxTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 0, 0, TimeSpan.Zero);

    private static NewAlarm Alarm(string type, int minute) => new(
        Guid.CreateVersion7(T0.AddMinutes(minute)).ToString(),
        type,
        AlarmCatalog.Get(type).Priority,
        AlarmCatalog.Get(type).VkpCode,
        AlarmCatalog.Get(type).Triage,
        AlarmState.Raised,
        "s-1",
        "hallway",
        T0.AddMinutes(minute),
        "test");

    [Fact]
    public async Task Alarms_get_increasing_sequence_numbers_and_survive_reopening_the_store()
    {
        using var dir = new TempDir();
        var a = Alarm(AlarmType.Wandering, 1);
        var b = Alarm(AlarmType.Panic, 2);
        using (var outbox = new SqliteOutbox(dir.File("outbox.db")))
        {
            Assert.Equal(1, await outbox.AddAsync(a, CancellationToken.None));
            Assert.Equal(2, await outbox.AddAsync(b, CancellationToken.None));
        }

        using var reopened = new SqliteOutbox(dir.File("outbox.db"));
        Assert.Equal([a, b], reopened.All().Select(x => x.Alarm));
        Assert.Equal(2, reopened.LastSeq);
        Assert.Equal(3, await reopened.AddAsync(Alarm(AlarmType.Fall, 3), CancellationToken.None));
    }

    [Fact]
    public async Task Adding_the_same_alarm_id_twice_keeps_one_alarm_and_its_number()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"));
        var a = Alarm(AlarmType.Fall, 1);

        Assert.Equal(1, await outbox.AddAsync(a, CancellationToken.None));
        Assert.Equal(1, await outbox.AddAsync(a, CancellationToken.None));
        Assert.Single(outbox.All());
    }

    [Fact]
    public async Task Pending_alarms_come_most_urgent_first_then_oldest_first()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"));
        await outbox.AddAsync(Alarm(AlarmType.LowBattery, 1), CancellationToken.None);
        await outbox.AddAsync(Alarm(AlarmType.Wandering, 2), CancellationToken.None);
        await outbox.AddAsync(Alarm(AlarmType.Panic, 3), CancellationToken.None);
        await outbox.AddAsync(Alarm(AlarmType.Fall, 4), CancellationToken.None);

        Assert.Equal(
            [AlarmType.Panic, AlarmType.Fall, AlarmType.Wandering, AlarmType.LowBattery],
            outbox.Pending().Select(p => p.Alarm.Type));
    }

    [Fact]
    public async Task Acknowledgements_move_an_alarm_forward_only_and_received_ends_resending()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"));
        var a = Alarm(AlarmType.Panic, 1);
        await outbox.AddAsync(a, CancellationToken.None);
        Assert.Equal(1, outbox.MarkSent(a.AlarmId, T0));
        Assert.Equal(2, outbox.MarkSent(a.AlarmId, T0.AddSeconds(15)));

        AckMessage Ack(AckState s) => new() { AlarmId = a.AlarmId, GatewayId = "gw-1", State = s, By = "op-1", At = T0.AddMinutes(1) };
        Assert.Equal(AckOutcome.Applied, outbox.ApplyAck(Ack(AckState.Received)));
        Assert.Equal(0, outbox.PendingCount);
        Assert.Equal(AckOutcome.AlreadyKnown, outbox.ApplyAck(Ack(AckState.Received)));
        Assert.Equal(AckOutcome.Applied, outbox.ApplyAck(Ack(AckState.Closed)));
        Assert.Equal(AckOutcome.AlreadyKnown, outbox.ApplyAck(Ack(AckState.Accepted)));
        Assert.Equal(AckState.Closed, outbox.Find(a.AlarmId)!.Ack);
        Assert.Equal(AckOutcome.UnknownAlarm, outbox.ApplyAck(Ack(AckState.Received) with { AlarmId = "nope" }));
    }

    [Fact]
    public async Task Storing_an_alarm_and_the_centres_accepted_and_closed_are_fsynced_but_send_records_and_received_are_not()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"));
        const long Full = 2, Normal = 1;
        var a = Alarm(AlarmType.Panic, 1);
        AckMessage Ack(AckState s) => new() { AlarmId = a.AlarmId, GatewayId = "gw-1", State = s, By = "op-1", At = T0.AddMinutes(1) };

        await outbox.AddAsync(a, CancellationToken.None);
        Assert.Equal(Full, outbox.CurrentSynchronous);
        outbox.MarkSent(a.AlarmId, T0);
        Assert.Equal(Normal, outbox.CurrentSynchronous);

        // The next alarm after a send record is durable again: the mode is set per write, not left behind.
        var b = Alarm(AlarmType.Fall, 2);
        await outbox.AddAsync(b, CancellationToken.None);
        Assert.Equal(Full, outbox.CurrentSynchronous);

        outbox.ApplyAck(Ack(AckState.Received));
        Assert.Equal(Normal, outbox.CurrentSynchronous);
        outbox.ApplyAck(Ack(AckState.Accepted));
        Assert.Equal(Full, outbox.CurrentSynchronous);
        outbox.ApplyAck(Ack(AckState.Received) with { AlarmId = b.AlarmId });
        outbox.ApplyAck(Ack(AckState.Closed) with { AlarmId = b.AlarmId });
        Assert.Equal(Full, outbox.CurrentSynchronous);
    }

    [Fact]
    public async Task Send_records_of_a_batch_are_kept_per_alarm_in_order()
    {
        using var dir = new TempDir();
        var a = Alarm(AlarmType.Panic, 1);
        var b = Alarm(AlarmType.Fall, 2);
        using (var outbox = new SqliteOutbox(dir.File("outbox.db")))
        {
            await outbox.AddAsync(a, CancellationToken.None);
            await outbox.AddAsync(b, CancellationToken.None);
            outbox.MarkSent(b.AlarmId, T0);

            Assert.Equal([1, 2, 0], outbox.MarkSent([a.AlarmId, b.AlarmId, "not-here"], T0.AddSeconds(15)));
        }

        // Kept across a restart (a send record survives kill -9; only a power cut may take the last ones back).
        using var reopened = new SqliteOutbox(dir.File("outbox.db"));
        Assert.Equal([(1, T0.AddSeconds(15)), (2, T0.AddSeconds(15))], reopened.All().Select(x => (x.Attempts, x.LastSentAt!.Value)));
    }

    [Fact]
    public async Task A_group_commit_stores_each_alarm_unless_one_of_its_sensor_is_open_counting_the_ones_before_it()
    {
        using var dir = new TempDir();
        var open = Alarm(AlarmType.Fall, 1);
        var firstPanic = Alarm(AlarmType.Panic, 2);
        var secondPanic = Alarm(AlarmType.Panic, 3);
        var fallAgain = Alarm(AlarmType.Fall, 4);
        var cancelled = Alarm(AlarmType.Fall, 5) with { State = AlarmState.Cancelled };
        using (var outbox = new SqliteOutbox(dir.File("outbox.db")))
        {
            await outbox.AddAsync(open, CancellationToken.None);
            IAlarmOutbox store = outbox;

            var outcomes = await store.AddUnlessOpenAsync([firstPanic, secondPanic, fallAgain, cancelled], CancellationToken.None);

            // The second press and the second fall are repeats of the open alarms, not new ones and not nothing.
            Assert.Equal([2L, null, null, 3L], outcomes.Select(o => o.Seq));
            Assert.Equal([null, new AlarmRepeat(firstPanic.AlarmId, 1), new AlarmRepeat(open.AlarmId, 1), null], outcomes.Select(o => o.Repeat));
            Assert.Equal(Full(), outbox.CurrentSynchronous);
        }

        using var reopened = new SqliteOutbox(dir.File("outbox.db"));
        Assert.Equal([open.AlarmId, firstPanic.AlarmId, cancelled.AlarmId], reopened.All().Select(a => a.Alarm.AlarmId));

        static long Full() => 2;
    }

    [Fact]
    public async Task A_burst_of_answers_is_recorded_in_order_with_one_commit_fsynced_only_when_it_holds_an_accepted_or_closed()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"));
        var a = Alarm(AlarmType.Panic, 1);
        var b = Alarm(AlarmType.Fall, 2);
        await outbox.AddAsync(a, CancellationToken.None);
        await outbox.AddAsync(b, CancellationToken.None);
        AckMessage Ack(NewAlarm alarm, AckState s) => new() { AlarmId = alarm.AlarmId, GatewayId = "gw-1", State = s, By = "op-1", At = T0.AddMinutes(1) };

        Assert.Equal(
            [AckOutcome.Applied, AckOutcome.AlreadyKnown, AckOutcome.UnknownAlarm],
            outbox.ApplyAcks([Ack(a, AckState.Received), Ack(a, AckState.Received), Ack(a, AckState.Received) with { AlarmId = "nope" }]));
        Assert.Equal(1, outbox.CurrentSynchronous); // NORMAL: only 'received'

        Assert.Equal(
            [AckOutcome.Applied, AckOutcome.Applied, AckOutcome.AlreadyKnown],
            outbox.ApplyAcks([Ack(b, AckState.Received), Ack(a, AckState.Closed), Ack(a, AckState.Accepted)]));
        Assert.Equal(2, outbox.CurrentSynchronous); // FULL: a 'closed' is in the batch
        Assert.Equal(AckState.Closed, outbox.Find(a.AlarmId)!.Ack);
        Assert.Equal(AckState.Received, outbox.Find(b.AlarmId)!.Ack);
    }

    [Fact]
    public async Task An_accepted_that_overtakes_its_received_also_stops_resending()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"));
        var a = Alarm(AlarmType.Panic, 1);
        await outbox.AddAsync(a, CancellationToken.None);

        outbox.ApplyAck(new AckMessage { AlarmId = a.AlarmId, GatewayId = "gw-1", State = AckState.Accepted, By = "op-1", At = T0 });

        Assert.Empty(outbox.Pending());
    }

    [Fact]
    public async Task A_repeat_of_an_open_alarm_is_durable_due_at_once_and_sent_until_the_centre_has_every_repeat()
    {
        using var dir = new TempDir();
        var panic = Alarm(AlarmType.Panic, 1);
        IAlarmOutbox store;
        using (var outbox = new SqliteOutbox(dir.File("outbox.db")))
        {
            store = outbox;
            await outbox.AddAsync(panic, CancellationToken.None);
            await outbox.MarkSentAsync([panic.AlarmId], T0.AddMinutes(1), CancellationToken.None);
            outbox.ApplyAck(new AckMessage { AlarmId = panic.AlarmId, GatewayId = "gw-1", State = AckState.Accepted, By = "op-1", At = T0.AddMinutes(2) });
            Assert.Empty(outbox.Due(T0, T0));

            var repeat = await store.RepeatAsync(AlarmType.Panic, "s-1", T0.AddMinutes(20), CancellationToken.None);
            Assert.Equal(new AlarmRepeat(panic.AlarmId, 1), repeat);
            Assert.Null(await store.RepeatAsync(AlarmType.Panic, "another-button", T0.AddMinutes(20), CancellationToken.None));
            Assert.Equal(2L, outbox.CurrentSynchronous); // fsynced like an alarm
        }

        // Kill -9 here loses nothing: the repeat is on disk and due at once, on any connection.
        using var reopened = new SqliteOutbox(dir.File("outbox.db"));
        var due = Assert.Single(reopened.Due(T0, T0));
        var message = due.ToMessage("gw-1", T0.AddMinutes(20), due.Attempts + 1);
        Assert.Equal((panic.AlarmId, 1, T0.AddMinutes(20), 2), (message.AlarmId, message.Repeats, message.RepeatedAt, message.Attempt));
        Assert.Equal(1, reopened.PendingCount); // the heartbeat counts it as waiting
        Assert.Equal(1, reopened.Overdue(T0.AddMinutes(21), TimeSpan.FromSeconds(30), TimeSpan.FromHours(1)).Unreceived); // overdue from the repeat's time
        Assert.Equal(0, reopened.PruneDelivered(T0.AddDays(400))); // never pruned while a repeat waits

        // A 'received' without the repeat (an answer to an older copy) does not end it; with it, it does.
        reopened.ApplyAck(new AckMessage { AlarmId = panic.AlarmId, GatewayId = "gw-1", State = AckState.Received, By = "centre", At = T0.AddMinutes(21) });
        Assert.Single(reopened.Due(T0.AddMinutes(30), T0));
        Assert.Equal(AckOutcome.Applied, reopened.ApplyAck(new AckMessage { AlarmId = panic.AlarmId, GatewayId = "gw-1", State = AckState.Received, By = "centre", At = T0.AddMinutes(21), Repeats = 1 }));
        Assert.Empty(reopened.Due(T0.AddMinutes(30), T0));
        Assert.Equal(0, reopened.PendingCount);
        Assert.True(reopened.Find(panic.AlarmId)!.FullyReceived);
        Assert.Equal(AckState.Accepted, reopened.Find(panic.AlarmId)!.Ack); // still with its operator
    }

    [Fact]
    public async Task An_outbox_of_the_first_schema_is_upgraded_in_place_and_keeps_its_alarms()
    {
        using var dir = new TempDir();
        var path = dir.File("outbox.db");
        var panic = Alarm(AlarmType.Panic, 1);
        using (var outbox = new SqliteOutbox(path))
        {
            await outbox.AddAsync(panic, CancellationToken.None);
        }

        // Make it the first schema again, as a gateway of the earlier release left it.
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "ALTER TABLE alarm DROP COLUMN repeats; ALTER TABLE alarm DROP COLUMN repeated_at; ALTER TABLE alarm DROP COLUMN repeats_received; PRAGMA user_version = 1;";
            cmd.ExecuteNonQuery();
        }

        using var upgraded = new SqliteOutbox(path);
        Assert.Equal(panic, Assert.Single(upgraded.All()).Alarm);
        IAlarmOutbox store = upgraded;
        Assert.Equal(new AlarmRepeat(panic.AlarmId, 1), await store.RepeatAsync(AlarmType.Panic, "s-1", T0.AddMinutes(2), CancellationToken.None));
    }

    [Fact]
    public void The_store_is_in_wal_mode()
    {
        using var dir = new TempDir();
        using (new SqliteOutbox(dir.File("outbox.db")))
        {
        }

        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={dir.File("outbox.db")};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", cmd.ExecuteScalar());
    }
}
