using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The same contract, run against both stores: SQLite in a temp file and a real PostgreSQL server.</summary>
public abstract partial class StoreContractTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 19, 0, TimeSpan.Zero);

    protected abstract Task<ICentreStore> NewStoreAsync();

    /// <summary>The key of an alarm made by <see cref="Alarm"/>.</summary>
    public static AlarmKey Key(string id, string gateway = "gw-0042") => new(gateway, id);

    public static StoredAlarm Alarm(string id, string gateway = "gw-0042", long seq = 1, AlarmPriority priority = AlarmPriority.High, DateTimeOffset? raised = null, AlarmState state = AlarmState.Raised, string type = AlarmType.Wandering) => new()
    {
        AlarmId = id,
        GatewayId = gateway,
        Origin = AlarmOrigin.Gateway,
        Seq = seq,
        Type = type,
        Priority = priority,
        VkpCode = AlarmCatalog.Get(type).VkpCode,
        Triage = AlarmCatalog.Get(type).Triage,
        State = state,
        SensorId = "door-front",
        Room = "hallway",
        Reason = "Outer door opened at night",
        RaisedAt = raised ?? T0,
        ReceivedAt = (raised ?? T0).AddSeconds(1),
    };

    [Fact]
    public async Task An_alarm_is_stored_once_by_id_and_copies_are_counted()
    {
        var store = await NewStoreAsync();
        Assert.True(await store.AddAlarmAsync(Alarm("a-1"), default));
        Assert.False(await store.AddAlarmAsync(Alarm("a-1") with { Reason = "a re-send" }, default));
        Assert.False(await store.AddAlarmAsync(Alarm("a-1"), default));

        var stored = await store.GetAlarmAsync(Key("a-1"), default);
        Assert.NotNull(stored);
        Assert.Equal(3, stored.Copies);
        Assert.Equal("Outer door opened at night", stored.Reason);
        Assert.Equal(T0, stored.RaisedAt);
        Assert.Equal(AlarmPriority.High, stored.Priority);
        Assert.Equal("hallway", stored.Room);
        Assert.Single(await store.OpenAlarmsAsync(default));
    }

    /// <summary>Issue 18: retention removes what is past its time, and nothing else; an open alarm is never touched.</summary>
    [Fact]
    public async Task Retention_deletes_old_closed_alarms_clears_old_notes_and_old_audit_lines_and_nothing_else()
    {
        var store = await NewStoreAsync();
        var now = T0.AddDays(400);
        // Closed long ago (past the alarm cutoff), closed a while ago (past the note cutoff only), closed lately,
        // and one raised long ago but still open.
        foreach (var (id, closedAt) in new[] { ("old", T0.AddMinutes(10)), ("middle", now.AddDays(-100)), ("recent", now.AddDays(-1)) })
        {
            await store.AddAlarmAsync(Alarm(id, seq: id.Length, raised: closedAt.AddMinutes(-10)), default);
            await store.AddAckAsync(new AckRecord { AckId = "ack-" + id, AlarmId = id, GatewayId = "gw-0042", State = AckState.Closed, By = "operator-1", At = closedAt }, default);
            Assert.True(await store.CloseAsync(Key(id), "operator-1", closedAt, "health details of " + id, CloseOutcome.Handled, default));
        }

        await store.AddAlarmAsync(Alarm("still-open", seq: 99, raised: T0), default);
        await store.AddAckAsync(new AckRecord { AckId = "ack-still-open", AlarmId = "still-open", GatewayId = "gw-0042", State = AckState.Received, By = "centre", At = T0 }, default);
        foreach (var (id, at) in new[] { ("audit-old", now.AddDays(-800)), ("audit-new", now.AddDays(-5)) })
        {
            await store.AddAuditAsync(new AuditEntry { AuditId = id, At = at, Actor = "kari", Action = "GET /export/fhir", Outcome = "ok" }, default);
        }

        var outcome = await store.ApplyRetentionAsync(new RetentionCutoffs(now.AddDays(-365), now.AddDays(-90), now.AddDays(-730)), default);

        Assert.Equal(new RetentionOutcome(1, 1, 1), outcome);
        Assert.Null(await store.GetAlarmAsync(Key("old"), default));
        Assert.Empty(await store.AcksAsync(Key("old"), default));
        var middle = await store.GetAlarmAsync(Key("middle"), default);
        Assert.NotNull(middle);
        Assert.Null(middle.Note);
        Assert.Equal(CloseOutcome.Handled, middle.Outcome);
        Assert.Equal("health details of recent", (await store.GetAlarmAsync(Key("recent"), default))!.Note);
        Assert.NotNull(await store.GetAlarmAsync(Key("still-open"), default));
        Assert.Single(await store.AcksAsync(Key("still-open"), default));
        Assert.Single(await store.AcksAsync(Key("middle"), default));
        Assert.Equal(["audit-new"], (await store.AuditAsync(now.AddDays(-1000), now, 10, default)).Select(a => a.AuditId));

        // A second pass finds nothing more; null cutoffs keep everything.
        Assert.False((await store.ApplyRetentionAsync(new RetentionCutoffs(now.AddDays(-365), now.AddDays(-90), now.AddDays(-730)), default)).Any);
        Assert.False((await store.ApplyRetentionAsync(new RetentionCutoffs(null, null, null), default)).Any);
    }

    [Fact]
    public async Task The_open_queue_is_by_priority_then_age_and_leaves_out_closed_and_cancelled_alarms()
    {
        var store = await NewStoreAsync();
        await store.AddAlarmAsync(Alarm("low-old", priority: AlarmPriority.Low, raised: T0), default);
        await store.AddAlarmAsync(Alarm("crit-new", priority: AlarmPriority.Critical, raised: T0.AddMinutes(5)), default);
        await store.AddAlarmAsync(Alarm("crit-old", priority: AlarmPriority.Critical, raised: T0.AddMinutes(1)), default);
        await store.AddAlarmAsync(Alarm("cancelled", state: AlarmState.Cancelled), default);
        await store.AddAlarmAsync(Alarm("closed"), default);
        Assert.True(await store.CloseAsync(Key("closed"), "operator-1", T0.AddMinutes(9), "ok", CloseOutcome.Handled, default));

        var open = await store.OpenAlarmsAsync(default);
        Assert.Equal(["crit-old", "crit-new", "low-old"], open.Select(a => a.AlarmId));
    }

    [Fact]
    public async Task Accept_and_close_only_move_forward_and_close_keeps_note_and_outcome()
    {
        var store = await NewStoreAsync();
        await store.AddAlarmAsync(Alarm("a-2"), default);
        Assert.True(await store.AcceptAsync(Key("a-2"), "operator-1", T0.AddSeconds(30), default));
        Assert.False(await store.AcceptAsync(Key("a-2"), "operator-2", T0.AddSeconds(31), default));
        Assert.True(await store.CloseAsync(Key("a-2"), "operator-1", T0.AddMinutes(4), "Called, resident back inside", CloseOutcome.FalseAlarm, default));
        Assert.False(await store.CloseAsync(Key("a-2"), "operator-2", T0.AddMinutes(5), null, null, default));
        Assert.False(await store.AcceptAsync(Key("missing"), "operator-1", T0, default));

        var a = await store.GetAlarmAsync(Key("a-2"), default);
        Assert.NotNull(a);
        Assert.Equal(HandlingStatus.Closed, a.Status);
        Assert.Equal("operator-1", a.AcceptedBy);
        Assert.Equal(T0.AddSeconds(30), a.AcceptedAt);
        Assert.Equal(T0.AddMinutes(4), a.ClosedAt);
        Assert.Equal("Called, resident back inside", a.Note);
        Assert.Equal(CloseOutcome.FalseAlarm, a.Outcome);
    }

    [Fact]
    public async Task Acknowledgements_are_kept_and_unsent_ones_are_listed_until_marked_sent()
    {
        var store = await NewStoreAsync();
        await store.AddAckAsync(new AckRecord { AckId = "k1", AlarmId = "a-3", GatewayId = "gw-1", State = AckState.Received, By = "centre", At = T0, SentAt = T0 }, default);
        await store.AddAckAsync(new AckRecord { AckId = "k2", AlarmId = "a-3", GatewayId = "gw-1", State = AckState.Accepted, By = "operator-1", At = T0.AddSeconds(5) }, default);
        Assert.Equal(["k2"], (await store.UnsentAcksAsync(10, default)).Select(a => a.AckId));
        await store.MarkAckSentAsync("k2", T0.AddSeconds(9), default);
        Assert.Empty(await store.UnsentAcksAsync(10, default));
        var acks = await store.AcksAsync(Key("a-3", "gw-1"), default);
        Assert.Empty(await store.AcksAsync(Key("a-3", "gw-2"), default)); // ids are per gateway
        Assert.Equal([AckState.Received, AckState.Accepted], acks.Select(a => a.State));
        Assert.Equal(T0.AddSeconds(9), acks[1].SentAt);
    }

    [Fact]
    public async Task Gateway_status_heartbeats_silence_and_labels_are_kept()
    {
        var store = await NewStoreAsync();
        var before = await store.RecordStatusAsync(new StatusMessage { GatewayId = "gw-7", State = GatewayState.Online, Since = T0, SoftwareVersion = "0.1.0" }, T0, default);
        Assert.Null(before);
        var hb = await store.RecordHeartbeatAsync(new HeartbeatMessage { GatewayId = "gw-7", At = T0, UptimeSeconds = 5, PendingAlarms = 0, LastSeq = 12, IntervalSeconds = 60 }, T0.AddSeconds(1), default);
        Assert.NotNull(hb);
        Assert.True(await store.MarkSilentAsync("gw-7", T0.AddMinutes(4), default));
        Assert.False(await store.MarkSilentAsync("gw-7", T0.AddMinutes(5), default));
        await store.SetGatewayLabelAsync("gw-7", "Kunde 117", "Bydel Nord", default);
        await store.SetGapReportedAsync("gw-7", 12, default);

        var gw = await store.GetGatewayAsync("gw-7", default);
        Assert.NotNull(gw);
        Assert.Equal(GatewayState.Online, gw.State);
        Assert.True(gw.Silent);
        Assert.Equal(60, gw.IntervalSeconds);
        Assert.Equal(12, gw.LastSeq);
        Assert.Equal(12, gw.SeqBaseline); // first heartbeat, no alarms known: earlier numbers predate the centre
        Assert.Equal(12, gw.GapReportedUpTo);
        Assert.Equal("Kunde 117", gw.Label);
        Assert.Equal("Bydel Nord", gw.HomeGroup);
        Assert.Equal(T0.AddSeconds(1), gw.LastHeartbeatAt);

        Assert.Equal(GatewayState.Online, await store.RecordStatusAsync(new StatusMessage { GatewayId = "gw-7", State = GatewayState.Offline, Since = T0 }, T0.AddMinutes(6), default));
        gw = await store.GetGatewayAsync("gw-7", default);
        Assert.Equal(GatewayState.Offline, gw!.State);
        Assert.False(gw.Silent);
        Assert.Single(await store.GatewaysAsync(default));
    }

    [Fact]
    public async Task Sequence_numbers_events_sensors_and_users_round_trip()
    {
        var store = await NewStoreAsync();
        foreach (var seq in new long[] { 1, 2, 4 })
        {
            await store.AddAlarmAsync(Alarm($"s-{seq}", seq: seq), default);
        }

        Assert.Equal([2L, 4L], await store.KnownSeqsAsync("gw-0042", 2, 5, default));

        await store.AddGatewayEventAsync(new GatewayEvent("gw-0042", T0, true), default);
        await store.AddGatewayEventAsync(new GatewayEvent("gw-0042", T0.AddHours(1), false), default);
        Assert.Equal([true, false], (await store.GatewayEventsAsync(T0.AddDays(1), default)).Select(e => e.Available));
        Assert.Single(await store.GatewayEventsAsync(T0.AddMinutes(1), default));

        await store.AddAlarmAsync(Alarm("bat", type: AlarmType.LowBattery), default);
        await store.RecordSensorProblemAsync(new SensorProblem("gw-0042", "door-front", "hallway", AlarmType.LowBattery, T0, "bat"), default);
        Assert.Equal("door-front", Assert.Single(await store.SensorsNeedingAttentionAsync(default)).SensorId);
        await store.CloseAsync(Key("bat"), "operator-1", T0.AddHours(2), "battery changed", CloseOutcome.Technical, default);
        Assert.Empty(await store.SensorsNeedingAttentionAsync(default));

        Assert.Equal(0, await store.CountUsersAsync(default));
        await store.SaveUserAsync(new CentreUser { UserName = "kari", OperatorId = "operator-abc", PasswordHash = "h1", Role = Roles.Operator }, default);
        await store.SaveUserAsync(new CentreUser { UserName = "kari", OperatorId = "ignored", PasswordHash = "h2", Role = Roles.Admin }, default);
        var user = await store.FindUserAsync("kari", default);
        Assert.Equal(("operator-abc", "h2", Roles.Admin), (user!.OperatorId, user.PasswordHash, user.Role));
        Assert.Null(await store.FindUserAsync("nobody", default));
    }

    [Fact]
    public async Task A_totp_step_advances_only_forward_so_a_code_is_used_once()
    {
        var store = await NewStoreAsync();
        await store.SaveUserAsync(new CentreUser { UserName = "kari", OperatorId = "operator-abc", PasswordHash = "h", Role = Roles.Operator, TotpSecret = "JBSWY3DPEHPK3PXP" }, default);
        await store.SaveUserAsync(new CentreUser { UserName = "admin", OperatorId = "operator-def", PasswordHash = "h", Role = Roles.Admin }, default);

        Assert.True(await store.TryAdvanceTotpStepAsync("kari", 59_000_000, default));
        Assert.False(await store.TryAdvanceTotpStepAsync("kari", 59_000_000, default)); // the same code again
        Assert.False(await store.TryAdvanceTotpStepAsync("kari", 58_999_999, default)); // an older one
        Assert.True(await store.TryAdvanceTotpStepAsync("kari", 59_000_001, default));
        Assert.Equal(59_000_001, (await store.FindUserAsync("kari", default))!.TotpLastStep);
        Assert.False(await store.TryAdvanceTotpStepAsync("admin", 1, default)); // no second factor enrolled
        Assert.False(await store.TryAdvanceTotpStepAsync("nobody", 1, default));

        // Parallel tries with one step: exactly one wins.
        var wins = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => store.TryAdvanceTotpStepAsync("kari", 59_000_002, default))));
        Assert.Equal(1, wins.Count(w => w));
    }

    [Fact]
    public async Task A_group_commit_stores_each_alarm_once_counts_copies_even_within_the_batch_and_writes_the_acknowledgements()
    {
        var store = await NewStoreAsync();
        Assert.True(await store.AddAlarmAsync(Alarm("old", seq: 1), default));
        await store.AddAckAsync(new AckRecord { AckId = "k-old", AlarmId = "old", GatewayId = "gw-0042", State = AckState.Received, By = "centre", At = T0 }, default);

        static IncomingAlarm In(StoredAlarm a, string ackId, bool problem = false) => new(a,
            new AckRecord { AckId = ackId, AlarmId = a.AlarmId, GatewayId = a.GatewayId, State = AckState.Received, By = "centre", At = T0.AddSeconds(2) },
            problem ? new SensorProblem(a.GatewayId, "door-front", "hallway", a.Type, a.RaisedAt, a.AlarmId) : null);

        static HeartbeatArrival Hb(string gw, long lastSeq, int seconds) =>
            new(new HeartbeatMessage { GatewayId = gw, At = T0, UptimeSeconds = 5, PendingAlarms = 0, LastSeq = lastSeq, IntervalSeconds = 30 }, T0.AddSeconds(seconds));

        var commit = await store.CommitIntakeAsync(
            [
                In(Alarm("b-1", gateway: "gw-new", seq: 7), "k1"),
                In(Alarm("old", seq: 1), "k2"), // a copy of a stored alarm
                In(Alarm("b-2", seq: 2, type: AlarmType.LowBattery), "k3", problem: true),
                In(Alarm("b-1", gateway: "gw-new", seq: 7) with { Reason = "re-sent" }, "k4"), // a copy within the batch
            ],
            [Hb("gw-hb", 3, 1), Hb("gw-hb", 4, 2), Hb("gw-0042", 2, 3)],
            ["k-old"], T0.AddSeconds(3), default);

        Assert.Equal([true, false, true, false], commit.Fresh);
        Assert.Null(commit.HeartbeatsBefore[0]); // first contact
        Assert.Equal(3, commit.HeartbeatsBefore[1]!.LastSeq); // the second sees the first, in the same transaction
        Assert.Null(commit.HeartbeatsBefore[2]!.LastHeartbeatAt); // known by its alarms only
        var hb = await store.GetGatewayAsync("gw-hb", default);
        Assert.Equal((4L, T0.AddSeconds(2), 30), (hb!.LastSeq!.Value, hb.LastHeartbeatAt!.Value, hb.IntervalSeconds!.Value));
        Assert.Equal(2, (await store.GetAlarmAsync(Key("old"), default))!.Copies);
        var b1 = await store.GetAlarmAsync(Key("b-1", "gw-new"), default);
        Assert.Equal((2, "Outer door opened at night"), (b1!.Copies, b1.Reason));
        Assert.Equal(6, (await store.GetGatewayAsync("gw-new", default))!.SeqBaseline); // first contact by an alarm
        Assert.Equal("b-2", Assert.Single(await store.SensorsNeedingAttentionAsync(default)).AlarmId);
        Assert.Equal(["k1", "k4"], (await store.AcksAsync(Key("b-1", "gw-new"), default)).Select(a => a.AckId).Order());
        Assert.Equal(T0.AddSeconds(3), Assert.Single(await store.AcksAsync(Key("old"), default), a => a.AckId == "k-old").SentAt);
        Assert.Equal(["k1", "k2", "k3", "k4"], (await store.UnsentAcksAsync(10, default)).Select(a => a.AckId).Order());

        await store.MarkAcksSentAsync(["k1", "k2", "k3"], T0.AddSeconds(4), default);
        Assert.Equal("k4", Assert.Single(await store.UnsentAcksAsync(10, default)).AckId);
        await store.MarkAcksSentAsync([], T0, default);
    }

    /// <summary>A store with only the first migration applied (alarms keyed by id alone).</summary>
    protected abstract Task<SqlCentreStore> NewUnmigratedStoreAsync();

    /// <summary>
    /// Issue 19 finding 1: migration 2 keys alarms by gateway and id. Alarms stored before survive it, and a technical
    /// alarm raised before is still recognised by its cause (the same retained will does not raise it twice).
    /// </summary>
    [Fact]
    public async Task Alarms_stored_before_keying_by_gateway_survive_and_an_old_technical_alarm_is_not_raised_twice()
    {
        var store = await NewUnmigratedStoreAsync();
        await store.MigrateAsync(1, default);
        var since = T0.ToUnixTimeMilliseconds();
        await store.ExecuteForTestsAsync($"""
            INSERT INTO alarm VALUES ('centre-gw-0042-gateway-offline-{since}', 'gw-0042', 2, 0, 'gateway-offline', 2, '4', 'G',
              'raised', NULL, NULL, 'Gateway offline', {since}, {since}, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL)
            """, default);
        await store.ExecuteForTestsAsync($"""
            INSERT INTO alarm VALUES ('shared-id', 'gw-0042', 1, 1, 'fall', 1, '4.1', 'R',
              'raised', NULL, NULL, 'Fall', {since}, {since}, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL)
            """, default);
        await store.MigrateAsync(default);

        Assert.Equal(AlarmType.Fall, (await store.GetAlarmAsync(Key("shared-id"), default))!.Type);
        Assert.True(await store.AddAlarmAsync(Alarm("shared-id", gateway: "gw-other"), default)); // another gateway's alarm now
        var core = new CentreCore(store, new RecordingAckSender(), new CentreEvents(), new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0),
            new CentreSettings(), Microsoft.Extensions.Logging.Abstractions.NullLogger<CentreCore>.Instance);
        await core.OnStatusAsync(new StatusMessage { GatewayId = "gw-0042", State = GatewayState.Offline, Since = T0 }, default);
        var technical = Assert.Single(await store.OpenAlarmsAsync(default), a => a.Origin == AlarmOrigin.Centre);
        Assert.Equal(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{CentreAlarmType.GatewayOffline}-{since}"), technical.Cause);
        await core.DisposeAsync();
    }

    [Fact]
    public async Task A_home_record_is_kept_sealed_replaced_whole_and_its_deletion_clears_the_homes_notes_but_keeps_its_alarms()
    {
        var store = await NewStoreAsync();
        await store.SaveHomeRecordAsync(new SealedHomeRecord("gw-0042", "sealed-1", T0, "admin"), default);
        await store.SaveHomeRecordAsync(new SealedHomeRecord("gw-0042", "sealed-2", T0.AddMinutes(1), "admin2"), default);
        await store.SaveHomeRecordAsync(new SealedHomeRecord("gw-0043", "other", T0, "admin"), default);
        var read = Assert.Single(await store.HomeRecordsAsync(["gw-0042", "gw-nobody"], default));
        Assert.Equal(new SealedHomeRecord("gw-0042", "sealed-2", T0.AddMinutes(1), "admin2"), read);
        Assert.Equal(2, (await store.HomeRecordsAsync([.. Enumerable.Range(0, 450).Select(i => "gw-x" + i), "gw-0042", "gw-0043"], default)).Count);
        Assert.Empty(await store.HomeRecordsAsync([], default));

        await store.AddAlarmAsync(Alarm("h-1"), default);
        await store.AddAlarmAsync(Alarm("h-2"), default);
        await store.AddAlarmAsync(Alarm("h-3", gateway: "gw-0043"), default);
        Assert.True(await store.CloseAsync(Key("h-1"), "operator-1", T0.AddMinutes(5), "health details", CloseOutcome.Handled, default));
        Assert.True(await store.CloseAsync(Key("h-3", "gw-0043"), "operator-1", T0.AddMinutes(5), "other home's note", CloseOutcome.Handled, default));

        Assert.Equal(1, await store.DeleteHomeRecordAsync("gw-0042", default));

        Assert.Empty(await store.HomeRecordsAsync(["gw-0042"], default));
        var h1 = await store.GetAlarmAsync(Key("h-1"), default);
        Assert.Null(h1!.Note);
        Assert.Equal((HandlingStatus.Closed, CloseOutcome.Handled), (h1.Status, h1.Outcome)); // the alarm stays for the figures
        Assert.NotNull(await store.GetAlarmAsync(Key("h-2"), default));
        Assert.Equal("other home's note", (await store.GetAlarmAsync(Key("h-3", "gw-0043"), default))!.Note);
        Assert.Single(await store.HomeRecordsAsync(["gw-0043"], default));
    }

    [Fact]
    public async Task A_command_is_kept_with_its_sendings_and_its_first_result_only()
    {
        var store = await NewStoreAsync();
        GatewayCommandRecord Command(string id, int minute) => new()
        {
            CommandId = id, GatewayId = "gw-0042", Command = "test-alarm", By = "operator-1", Payload = "{\"commandId\":\"" + id + "\"}", CreatedAt = T0.AddMinutes(minute),
        };
        await store.AddCommandAsync(Command("c-1", 0), default);
        await store.AddCommandAsync(Command("c-2", 1), default);
        await store.MarkCommandSentAsync("c-1", T0.AddSeconds(1), default);
        await store.MarkCommandSentAsync("c-1", T0.AddSeconds(31), default);

        Assert.Equal(["c-1", "c-2"], (await store.WaitingCommandsAsync(10, default)).Select(c => c.CommandId));
        Assert.True(await store.RecordCommandResultAsync("c-1", "gw-0042", "ok", "test alarm stored", T0.AddSeconds(32), "{}", default));
        Assert.False(await store.RecordCommandResultAsync("c-1", "gw-0042", "failed", "a late second answer", T0.AddSeconds(40), null, default));
        Assert.False(await store.RecordCommandResultAsync("c-2", "gw-other", "ok", "another gateway's answer", T0.AddSeconds(40), null, default));
        await store.MarkCommandSentAsync("c-1", T0.AddSeconds(61), default); // answered: no more sendings counted

        var all = await store.CommandsAsync("gw-0042", 10, default);
        Assert.Equal(["c-2", "c-1"], all.Select(c => c.CommandId)); // newest first
        var c1 = all[1];
        Assert.Equal((2, T0.AddSeconds(31), "ok", "test alarm stored", T0.AddSeconds(32), "{}"), (c1.Attempts, c1.SentAt, c1.Status, c1.Reason, c1.ResultAt, c1.Result));
        Assert.Equal(["c-2"], (await store.WaitingCommandsAsync(10, default)).Select(c => c.CommandId));
        Assert.Empty(await store.CommandsAsync("gw-nobody", 10, default));
    }

    [Fact]
    public async Task Data_protection_keys_are_kept_in_order_and_never_replaced()
    {
        var store = await NewStoreAsync();
        await store.AddDataProtectionKeyAsync("key-b", "<key id=\"b\" />", T0, default);
        await store.AddDataProtectionKeyAsync("key-a", "<key id=\"a\" />", T0.AddDays(90), default);
        await store.AddDataProtectionKeyAsync("key-b", "<key id=\"changed\" />", T0.AddDays(91), default);

        Assert.Equal(["<key id=\"b\" />", "<key id=\"a\" />"], await store.DataProtectionKeysAsync(default));
    }

    [Fact]
    public async Task Migrating_twice_changes_nothing()
    {
        var store = await NewStoreAsync();
        await store.AddAlarmAsync(Alarm("m-1"), default);
        await store.MigrateAsync(default);
        Assert.NotNull(await store.GetAlarmAsync(Key("m-1"), default));
    }
}

public sealed class SqliteStoreTests : StoreContractTests, IDisposable
{
    private readonly SqliteTestStores _stores = new();

    protected override Task<ICentreStore> NewStoreAsync() => _stores.NewAsync();

    protected override Task<SqlCentreStore> NewUnmigratedStoreAsync() => Task.FromResult(_stores.NewUnmigrated());

    public void Dispose() => _stores.Dispose();
}

[Collection(PostgresGroup.Name)]
public sealed class PostgresStoreTests(PostgresServer server) : StoreContractTests, IAsyncDisposable
{
    private readonly PostgresTestStores _stores = new(server);

    protected override Task<ICentreStore> NewStoreAsync() => _stores.NewAsync();

    protected override Task<SqlCentreStore> NewUnmigratedStoreAsync() => _stores.NewUnmigratedAsync();

    [Fact]
    public async Task Two_instances_migrating_one_database_at_once_both_succeed()
    {
        var connection = await server.CreateDatabaseAsync();
        await using var a = new PostgresCentreStore(connection);
        await using var b = new PostgresCentreStore(connection);
        await Task.WhenAll(a.MigrateAsync(default), b.MigrateAsync(default));
        Assert.True(await a.AddAlarmAsync(Alarm("x"), default));
        Assert.False(await b.AddAlarmAsync(Alarm("x"), default));
    }

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}
