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
