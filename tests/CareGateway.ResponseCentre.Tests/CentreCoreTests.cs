using System.Collections.Concurrent;
using System.Globalization;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Figures;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>A broker stand-in for unit tests: records what would be published, or refuses while "down".</summary>
public sealed class RecordingAckSender : IAckSender
{
    public ConcurrentQueue<AckMessage> Sent { get; } = new();

    public bool Down { get; set; }

    public Task<bool> TrySendAsync(AckMessage ack, CancellationToken ct)
    {
        if (Down)
        {
            return Task.FromResult(false);
        }

        Sent.Enqueue(ack);
        return Task.FromResult(true);
    }
}

public sealed class CentreCoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 19, 0, TimeSpan.Zero);
    private static readonly CentreUser Kari = new() { UserName = "kari", OperatorId = "operator-117", PasswordHash = "", Role = Roles.Operator };
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly RecordingAckSender _sender = new();
    private readonly SqliteCentreStore _store;
    private readonly CentreCore _core;

    public CentreCoreTests()
    {
        _store = SqliteCentreStore.ForFile(_dir.File("centre.db"));
        _store.MigrateAsync(default).GetAwaiter().GetResult();
        _core = new CentreCore(_store, _sender, new CentreEvents(), _clock, new CentreSettings { CentreId = "centre-test" }, NullLogger<CentreCore>.Instance);
    }

    public static AlarmMessage Message(string id, long seq, int attempt = 1, string gateway = "gw-0042", AlarmState state = AlarmState.Raised, string type = AlarmType.Wandering) => new()
    {
        AlarmId = id,
        GatewayId = gateway,
        Seq = seq,
        Type = type,
        Priority = AlarmCatalog.Get(type).Priority,
        VkpCode = AlarmCatalog.Get(type).VkpCode,
        Triage = AlarmCatalog.Get(type).Triage,
        State = state,
        SensorId = "door-front",
        Room = "hallway",
        RaisedAt = T0,
        SentAt = T0,
        Attempt = attempt,
        Reason = "Outer door opened at night",
    };

    private static HeartbeatMessage Heartbeat(long lastSeq, int pending = 0) =>
        new() { GatewayId = "gw-0042", At = T0, UptimeSeconds = 60, PendingAlarms = pending, LastSeq = lastSeq, IntervalSeconds = 60 };

    [Fact]
    public async Task A_home_whose_test_alarm_is_overdue_raises_one_technical_alarm_per_missed_test()
    {
        await _core.OnHeartbeatAsync(Heartbeat(lastSeq: 0), default); // the centre knows the gateway from now on
        Assert.Equal(0, await _core.CheckTestAlarmsAsync(default));
        _clock.Advance(TimeSpan.FromHours(25));
        Assert.Equal(0, await _core.CheckTestAlarmsAsync(default));
        _clock.Advance(TimeSpan.FromHours(2)); // 27 h without a test alarm
        Assert.Equal(1, await _core.CheckTestAlarmsAsync(default));
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, await _core.CheckTestAlarmsAsync(default)); // once per missed test, not once a minute
        var missing = Assert.Single(await _store.OpenAlarmsAsync(default), a => a.Type == CentreAlarmType.TestAlarmMissing);
        Assert.Contains("first heard of the gateway", missing.Reason, StringComparison.Ordinal);

        // The test arrives (it took 2 s); the next missed one is a new alarm, and the gateways page shows the latest.
        var test = Message(Guid.CreateVersion7().ToString(), 1, type: AlarmType.Test) with { SensorId = null, Room = null, RaisedAt = _clock.GetUtcNow().AddSeconds(-2) };
        await _core.OnAlarmAsync(test, default);
        var seen = Assert.Single(await _store.TestAlarmsSeenAsync(default));
        Assert.Equal((TimeSpan?)TimeSpan.FromSeconds(2), seen.Took);
        _clock.Advance(TimeSpan.FromHours(27));
        Assert.Equal(1, await _core.CheckTestAlarmsAsync(default));
        Assert.Equal(2, (await _store.OpenAlarmsAsync(default)).Count(a => a.Type == CentreAlarmType.TestAlarmMissing));
    }

    [Fact]
    public async Task An_alarm_not_accepted_in_its_priority_time_is_escalated_once_and_the_figures_count_it()
    {
        await _core.OnAlarmAsync(Message("p-1", 1, type: AlarmType.Panic) with { SensorId = "panic-1" }, default); // critical: 60 s
        await _core.OnAlarmAsync(Message("p-2", 2, type: AlarmType.Panic) with { SensorId = "panic-2" }, default);
        await _core.OnAlarmAsync(Message("w-1", 3, type: AlarmType.Wandering), default); // high: 180 s
        await _core.OnAlarmAsync(Message("b-1", 4, type: AlarmType.LowBattery) with { SensorId = "door-1" }, default); // technical: never
        await _core.AcceptAsync(new AlarmKey("gw-0042", "p-2"), Kari, default);

        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Empty(await _core.EscalateOverdueAsync(default));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["p-1"], (await _core.EscalateOverdueAsync(default)).Select(a => a.AlarmId));
        Assert.Empty(await _core.EscalateOverdueAsync(default)); // once
        _clock.Advance(TimeSpan.FromSeconds(120));
        Assert.Equal(["w-1"], (await _core.EscalateOverdueAsync(default)).Select(a => a.AlarmId));
        _clock.Advance(TimeSpan.FromHours(3));
        Assert.Empty(await _core.EscalateOverdueAsync(default)); // neither the accepted one nor the technical one

        Assert.Equal(T0.AddSeconds(60), (await _store.GetAlarmAsync(new AlarmKey("gw-0042", "p-1"), default))!.EscalatedAt);
        var figures = QualityFigures.Compute(await _store.AlarmsAsync(T0.AddDays(-1), T0.AddDays(1), 100, default), [], new Dictionary<string, GatewayRecord>(), T0.AddDays(-1), T0.AddDays(1), FigurePeriod.Day, null, TimeZoneInfo.Utc, T0.AddDays(2));
        var all = figures.Rows.Where(r => r.Group == QualityFigures.AllGroups).ToList();
        Assert.Equal((2, 1), (all.Sum(r => r.ByPriority["critical"].Alarms), all.Sum(r => r.ByPriority["critical"].MissedTimeToAccept)));
        Assert.Equal((1, 1), (all.Sum(r => r.ByPriority["high"].Alarms), all.Sum(r => r.ByPriority["high"].MissedTimeToAccept)));
        Assert.Contains("critical_missed_time_to_accept", QualityFigures.ToCsv(figures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_copy_with_more_repeats_is_recorded_moves_up_its_priority_and_opens_a_closed_alarm_again()
    {
        await _core.OnAlarmAsync(Message("w-1", 1, type: AlarmType.Water) with { SensorId = "water-1" }, default);
        await _core.OnAlarmAsync(Message("w-2", 2, type: AlarmType.Water) with { SensorId = "water-2", RaisedAt = T0.AddMinutes(1) }, default);
        Assert.Equal(["w-1", "w-2"], (await _store.OpenAlarmsAsync(default)).Select(a => a.AlarmId)); // the longest waiting first

        var repeat = Message("w-2", 2, attempt: 2, type: AlarmType.Water) with { SensorId = "water-2", RaisedAt = T0.AddMinutes(1), Repeats = 1, RepeatedAt = T0.AddMinutes(5) };
        await _core.OnAlarmAsync(repeat, default);
        var stored = (await _store.GetAlarmAsync(new AlarmKey("gw-0042", "w-2"), default))!;
        Assert.Equal((1, T0.AddMinutes(5)), (stored.Repeats, stored.RepeatedAt));
        Assert.Equal(["w-2", "w-1"], (await _store.OpenAlarmsAsync(default)).Select(a => a.AlarmId)); // the repeated one first
        Assert.Equal(1, _sender.Sent.Last().Repeats); // 'received' says the centre has the repeat

        // A late copy from before the repeat changes nothing and is answered with what it brought.
        await _core.OnAlarmAsync(Message("w-2", 2, attempt: 1, type: AlarmType.Water) with { SensorId = "water-2", RaisedAt = T0.AddMinutes(1) }, default);
        Assert.Equal(1, (await _store.GetAlarmAsync(new AlarmKey("gw-0042", "w-2"), default))!.Repeats);
        Assert.Null(_sender.Sent.Last().Repeats);

        // Closed at the centre while the resident pressed again: the repeat opens it again for an operator.
        await _core.AcceptAsync(new AlarmKey("gw-0042", "w-2"), Kari, default);
        await _core.CloseAsync(new AlarmKey("gw-0042", "w-2"), Kari, null, null, default);
        await _core.OnAlarmAsync(repeat with { Repeats = 2, RepeatedAt = T0.AddMinutes(9), Attempt = 3 }, default);
        stored = (await _store.GetAlarmAsync(new AlarmKey("gw-0042", "w-2"), default))!;
        Assert.Equal((2, HandlingStatus.Received, (DateTimeOffset?)null), (stored.Repeats, stored.Status, stored.ClosedAt));
        Assert.Contains(await _store.OpenAlarmsAsync(default), a => a.AlarmId == "w-2");
    }

    [Fact]
    public async Task A_duplicate_alarm_is_stored_once_and_every_copy_is_answered_received()
    {
        _clock.Advance(TimeSpan.FromSeconds(2));
        await _core.OnAlarmAsync(Message("a-1", 1), default);
        await _core.OnAlarmAsync(Message("a-1", 1, attempt: 2), default);

        var stored = Assert.Single(await _store.OpenAlarmsAsync(default));
        Assert.Equal(2, stored.Copies);
        Assert.Equal(T0.AddSeconds(2), stored.ReceivedAt);
        Assert.Equal(2, _sender.Sent.Count);
        Assert.All(_sender.Sent, a => Assert.Equal((AckState.Received, "centre-test", "a-1"), (a.State, a.By, a.AlarmId)));
    }

    [Fact]
    public async Task Accept_and_close_send_accepted_and_closed_once_and_keep_the_note_at_the_centre()
    {
        await _core.OnAlarmAsync(Message("a-2", 1), default);
        Assert.Equal(OperatorResult.Done, await _core.AcceptAsync(new AlarmKey("gw-0042", "a-2"), Kari, default));
        Assert.Equal(OperatorResult.AlreadyDone, await _core.AcceptAsync(new AlarmKey("gw-0042", "a-2"), Kari, default));
        Assert.Equal(OperatorResult.Done, await _core.CloseAsync(new AlarmKey("gw-0042", "a-2"), Kari, "  Resident had fallen; home nurse sent  ", CloseOutcome.Handled, default));
        Assert.Equal(OperatorResult.AlreadyDone, await _core.CloseAsync(new AlarmKey("gw-0042", "a-2"), Kari, null, null, default));
        Assert.Equal(OperatorResult.NotFound, await _core.AcceptAsync(new AlarmKey("gw-0042", "nope"), Kari, default));

        Assert.Equal([AckState.Received, AckState.Accepted, AckState.Closed], _sender.Sent.Select(a => a.State));
        Assert.All(_sender.Sent.Skip(1), a => Assert.Equal("operator-117", a.By));
        Assert.All(_sender.Sent, a => Assert.Null(a.Note));
        Assert.Equal("Resident had fallen; home nurse sent", (await _store.GetAlarmAsync(new AlarmKey("gw-0042", "a-2"), default))!.Note);
        await Assert.ThrowsAsync<ArgumentException>(() => _core.CloseAsync(new AlarmKey("gw-0042", "a-2"), Kari, null, "maybe", default));
    }

    [Fact]
    public async Task Acknowledgements_the_broker_did_not_take_are_sent_later()
    {
        _sender.Down = true;
        await _core.OnAlarmAsync(Message("a-3", 1), default);
        Assert.Empty(_sender.Sent);
        Assert.Single(await _store.UnsentAcksAsync(10, default));

        _sender.Down = false;
        Assert.Equal(1, await _core.RetryUnsentAcksAsync(default));
        Assert.Equal(AckState.Received, Assert.Single(_sender.Sent).State);
        Assert.Empty(await _store.UnsentAcksAsync(10, default));
    }

    [Fact]
    public async Task The_last_will_raises_one_technical_alarm_even_when_the_retained_status_comes_again()
    {
        await _core.OnStatusAsync(new StatusMessage { GatewayId = "gw-0042", State = GatewayState.Online, Since = T0 }, default);
        var will = new StatusMessage { GatewayId = "gw-0042", State = GatewayState.Offline, Since = T0 };
        await _core.OnStatusAsync(will, default);
        await _core.OnStatusAsync(will, default); // the retained will again, after a centre restart

        var alarm = Assert.Single(await _store.OpenAlarmsAsync(default));
        Assert.Equal((CentreAlarmType.GatewayOffline, AlarmOrigin.Centre, "gw-0042"), (alarm.Type, alarm.Origin, alarm.GatewayId));
        Assert.Empty(_sender.Sent); // nothing to acknowledge to a gateway for the centre's own alarm
        Assert.Equal(GatewayState.Offline, (await _store.GetGatewayAsync("gw-0042", default))!.State);
    }

    /// <summary>
    /// Issue 19 finding 1: technical alarm ids were 'centre-{gw}-{type}-{cause}', so a gateway could send that id first
    /// and switch the check off. They are random UUIDv4 now, deduplicated by their cause, which no gateway sets.
    /// </summary>
    [Fact]
    public async Task A_gateway_cannot_pre_empt_the_centres_technical_alarm_and_its_id_is_random()
    {
        await _core.OnStatusAsync(new StatusMessage { GatewayId = "gw-0042", State = GatewayState.Online, Since = T0 }, default);
        await _core.OnAlarmAsync(Message(string.Create(CultureInfo.InvariantCulture, $"centre-gw-0042-{CentreAlarmType.GatewayOffline}-{T0.ToUnixTimeMilliseconds()}"), 1), default);
        await _core.OnStatusAsync(new StatusMessage { GatewayId = "gw-0042", State = GatewayState.Offline, Since = T0 }, default);

        var technical = Assert.Single(await _store.OpenAlarmsAsync(default), a => a.Origin == AlarmOrigin.Centre);
        Assert.Equal(CentreAlarmType.GatewayOffline, technical.Type);
        Assert.True(Guid.TryParseExact(technical.AlarmId, "D", out var id));
        Assert.Equal(4, id.Version);
        Assert.False(ProtocolJson.IsAlarmId(technical.AlarmId)); // no gateway may send it
    }

    /// <summary>
    /// Issue 19 finding 9: one gateway could flood the centre. Over its burst (then its rate) or its open-alarm cap an
    /// alarm is neither stored nor answered (it waits in the gateway, which sends it again), and the gateway gets ONE
    /// technical alarm for the flood; other gateways are not affected.
    /// </summary>
    [Fact]
    public async Task A_flooding_gateway_is_held_to_its_limits_with_one_technical_alarm_and_others_go_on()
    {
        var settings = new CentreSettings { CentreId = "centre-test", Intake = new IntakeSettings { AlarmBurst = 3, AlarmsPerMinute = 6, MaxOpenAlarms = 4 } };
        await using var core = new CentreCore(_store, _sender, new CentreEvents(), _clock, settings, NullLogger<CentreCore>.Instance);
        var flood = Enumerable.Range(1, 8).Select(seq => Message(Guid.CreateVersion7(T0).ToString(), seq, gateway: "gw-flood", type: AlarmType.Panic)).ToList();
        await Task.WhenAll(flood.Select(m => core.OnAlarmAsync(m, default)));
        await core.OnAlarmAsync(Message(Guid.CreateVersion7(T0).ToString(), 1, gateway: "gw-calm"), default);

        var open = await _store.OpenAlarmsAsync(default);
        Assert.Equal(3, open.Count(a => a.GatewayId == "gw-flood" && a.Origin == AlarmOrigin.Gateway)); // the burst
        Assert.Equal(CentreAlarmType.AlarmFlood, Assert.Single(open, a => a.Origin == AlarmOrigin.Centre).Type);
        Assert.Equal(3, _sender.Sent.Count(a => a.GatewayId == "gw-flood")); // the refused ones are not answered: they come again
        Assert.Single(open, a => a.GatewayId == "gw-calm");

        // Ten seconds later one more is taken (6 a minute); then the open-alarm cap (4) holds, until an operator closes one.
        _clock.Advance(TimeSpan.FromSeconds(10));
        await Task.WhenAll(flood.Skip(3).Select(m => core.OnAlarmAsync(m with { Attempt = 2 }, default)));
        Assert.Equal(4, (await _store.OpenAlarmsAsync(default)).Count(a => a.GatewayId == "gw-flood" && a.Origin == AlarmOrigin.Gateway));
        _clock.Advance(TimeSpan.FromMinutes(1));
        await core.OnAlarmAsync(flood[5] with { Attempt = 3 }, default);
        Assert.Null(await _store.GetAlarmAsync(new AlarmKey("gw-flood", flood[5].AlarmId), default));
        Assert.Equal(OperatorResult.Done, await core.CloseAsync(new AlarmKey("gw-flood", flood[0].AlarmId), Kari, null, null, default));
        await core.OnAlarmAsync(flood[5] with { Attempt = 4 }, default);
        Assert.NotNull(await _store.GetAlarmAsync(new AlarmKey("gw-flood", flood[5].AlarmId), default));
        Assert.Single(await _store.OpenAlarmsAsync(default), a => a.Origin == AlarmOrigin.Centre); // still the one flood alarm
    }

    /// <summary>Issue 19 finding 13: the VKP code is the alarm type's, whatever the gateway wrote.</summary>
    [Fact]
    public async Task An_alarm_is_stored_with_the_vkp_code_of_its_type_not_the_one_the_gateway_sent()
    {
        var id = Guid.CreateVersion7(T0).ToString();
        await _core.OnAlarmAsync(Message(id, 1, type: AlarmType.Fall) with { VkpCode = AlarmCatalog.Get(AlarmType.Smoke).VkpCode }, default);
        Assert.Equal(AlarmCatalog.Get(AlarmType.Fall).VkpCode, (await _store.GetAlarmAsync(new AlarmKey("gw-0042", id), default))!.VkpCode);
    }

    [Fact]
    public async Task The_same_alarm_id_from_two_gateways_is_two_alarms_each_answered_to_its_own_gateway()
    {
        var id = Guid.CreateVersion7(T0).ToString();
        await _core.OnAlarmAsync(Message(id, 1, gateway: "gw-b", type: AlarmType.Panic), default);
        await _core.OnAlarmAsync(Message(id, 1, gateway: "gw-a"), default);
        await _core.OnAlarmAsync(Message(id, 1, attempt: 2, gateway: "gw-a"), default);

        var open = await _store.OpenAlarmsAsync(default);
        Assert.Equal([("gw-a", 2), ("gw-b", 1)], open.Select(a => (a.GatewayId, a.Copies)).Order());
        Assert.Equal(["gw-a", "gw-a", "gw-b"], _sender.Sent.Select(a => a.GatewayId).Order());

        // The operator acts on one home's alarm: only that gateway is answered, the other home's stays open.
        Assert.Equal(OperatorResult.Done, await _core.AcceptAsync(new AlarmKey("gw-a", id), Kari, default));
        Assert.Equal(["gw-a"], _sender.Sent.Where(a => a.State == AckState.Accepted).Select(a => a.GatewayId));
        Assert.Equal(OperatorResult.AlreadyDone, await _core.AcceptAsync(new AlarmKey("gw-a", id), Kari, default));
        Assert.Equal(OperatorResult.Done, await _core.CloseAsync(new AlarmKey("gw-a", id), Kari, null, null, default));
        Assert.Equal(HandlingStatus.Received, (await _store.GetAlarmAsync(new AlarmKey("gw-b", id), default))!.Status);
    }

    [Fact]
    public async Task Missing_heartbeats_raise_a_technical_alarm_after_about_three_intervals_and_only_once()
    {
        await _core.OnStatusAsync(new StatusMessage { GatewayId = "gw-0042", State = GatewayState.Online, Since = T0 }, default);
        await _core.OnHeartbeatAsync(Heartbeat(0), default);

        _clock.Advance(TimeSpan.FromSeconds(179));
        Assert.Equal(0, await _core.CheckHeartbeatsAsync(default));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await _core.CheckHeartbeatsAsync(default));
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(0, await _core.CheckHeartbeatsAsync(default));

        var alarm = Assert.Single(await _store.OpenAlarmsAsync(default));
        Assert.Equal(CentreAlarmType.HeartbeatMissing, alarm.Type);
        Assert.True((await _store.GetGatewayAsync("gw-0042", default))!.Silent);

        // It comes back: no longer silent, and a new silence is a new alarm.
        await _core.OnHeartbeatAsync(Heartbeat(0), default);
        Assert.False((await _store.GetGatewayAsync("gw-0042", default))!.Silent);
        _clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(1, await _core.CheckHeartbeatsAsync(default));
        Assert.Equal(2, (await _store.OpenAlarmsAsync(default)).Count);
    }

    [Fact]
    public async Task A_gap_in_sequence_numbers_raises_a_technical_alarm_once_the_gateway_has_nothing_pending()
    {
        await _core.OnHeartbeatAsync(Heartbeat(0), default);
        await _core.OnAlarmAsync(Message("s-1", 1), default);
        await _core.OnAlarmAsync(Message("s-3", 3), default);

        await _core.OnHeartbeatAsync(Heartbeat(3, pending: 1), default); // seq 2 may still be on its way
        Assert.DoesNotContain(await _store.OpenAlarmsAsync(default), a => a.Type == CentreAlarmType.SequenceGap);

        await _core.OnHeartbeatAsync(Heartbeat(3), default);
        await _core.OnHeartbeatAsync(Heartbeat(3), default);
        var gap = Assert.Single(await _store.OpenAlarmsAsync(default), a => a.Type == CentreAlarmType.SequenceGap);
        Assert.Contains("sequence 2", gap.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gateway_first_seen_with_earlier_alarms_is_not_reported_for_alarms_before_the_centre_knew_it()
    {
        await _core.OnHeartbeatAsync(Heartbeat(40), default);
        await _core.OnAlarmAsync(Message("n-41", 41), default);
        await _core.OnHeartbeatAsync(Heartbeat(41), default);
        Assert.DoesNotContain(await _store.OpenAlarmsAsync(default), a => a.Type == CentreAlarmType.SequenceGap);
    }

    [Fact]
    public async Task An_alarm_the_resident_cancelled_is_answered_and_kept_for_the_figures_but_not_queued()
    {
        await _core.OnAlarmAsync(Message("c-1", 1, state: AlarmState.Cancelled), default);
        Assert.Empty(await _store.OpenAlarmsAsync(default));
        Assert.Equal(AlarmState.Cancelled, (await _store.GetAlarmAsync(new AlarmKey("gw-0042", "c-1"), default))!.State);
        Assert.Equal(AckState.Received, Assert.Single(_sender.Sent).State);
    }

    [Fact]
    public async Task A_low_battery_alarm_puts_the_sensor_on_the_attention_list_until_it_is_closed()
    {
        await _core.OnAlarmAsync(Message("b-1", 1, type: AlarmType.LowBattery), default);
        Assert.Equal(AlarmType.LowBattery, Assert.Single(await _store.SensorsNeedingAttentionAsync(default)).Problem);
        await _core.AcceptAsync(new AlarmKey("gw-0042", "b-1"), Kari, default);
        await _core.CloseAsync(new AlarmKey("gw-0042", "b-1"), Kari, "technician booked", CloseOutcome.Technical, default);
        Assert.Empty(await _store.SensorsNeedingAttentionAsync(default));
    }

    [Fact]
    public async Task The_health_monitor_finds_a_silent_gateway_on_its_own_timer_as_time_passes()
    {
        var events = new CentreEvents();
        var core = new CentreCore(_store, _sender, events, _clock, new CentreSettings(), NullLogger<CentreCore>.Instance);
        var commands = new GatewayCommands(_store, new NoCommands(), events, _clock, NullLogger<GatewayCommands>.Instance);
        using var monitor = new HealthMonitor(core, commands, _clock, new CentreSettings { HealthCheckSeconds = 5 }, NullLogger<HealthMonitor>.Instance);
        await core.OnHeartbeatAsync(Heartbeat(0), default);
        var subscription = events.Subscribe();
        await monitor.StartAsync(default);

        for (var i = 0; i < 37; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(5)); // 185 s: more than three 60 s intervals
        }

        while (await subscription.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)) != "alarm")
        {
        }

        await monitor.StopAsync(default);
        Assert.Equal(CentreAlarmType.HeartbeatMissing, Assert.Single(await _store.OpenAlarmsAsync(default)).Type);
    }

    [Fact]
    public async Task Add_user_reads_the_password_from_stdin_and_refuses_a_short_one()
    {
        var db = _dir.File("users.db");
        using var output = new StringWriter();
        using var errors = new StringWriter();
        Assert.Equal(2, await Service.Web.UserCommand.RunAsync(["kari", $"--Centre:Database:ConnectionString={db}"], new StringReader("short\n"), output, errors));
        Assert.Contains("at least 10 characters", errors.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, await Service.Web.UserCommand.RunAsync(["kari", "--role", "admin", $"--Centre:Database:ConnectionString={db}"], new StringReader("a long passphrase\n"), output, errors));

        var store = SqliteCentreStore.ForFile(db);
        var user = await store.FindUserAsync("kari", default);
        Assert.Equal(Roles.Admin, user!.Role);
        Assert.Equal(Microsoft.AspNetCore.Identity.PasswordVerificationResult.Success,
            new Microsoft.AspNetCore.Identity.PasswordHasher<CentreUser>().VerifyHashedPassword(user, user.PasswordHash, "a long passphrase"));
        Assert.DoesNotContain("a long passphrase", output.ToString(), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private sealed class NoCommands : ICommandSender
    {
        public Task<bool> TrySendCommandAsync(string gatewayId, byte[] payload, CancellationToken ct) => Task.FromResult(false);
    }
}
