using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>Records what the buzzer and LED would have been told.</summary>
internal sealed class RecordingSignal : IPreAlarmSignal
{
    public List<(AlarmRequest Alarm, DateTimeOffset Until)> Started { get; } = [];

    public List<(AlarmRequest Alarm, bool Cancelled)> Ended { get; } = [];

    void IPreAlarmSignal.Started(AlarmRequest alarm, DateTimeOffset until) => Started.Add((alarm, until));

    void IPreAlarmSignal.Ended(AlarmRequest alarm, bool cancelled) => Ended.Add((alarm, cancelled));
}

public class PreAlarmTests
{
    private static readonly CareProfile Profile = new()
    {
        PreAlarm = new PreAlarmRule { Enabled = true, CancelWindowSeconds = 60, CancellableTypes = [AlarmType.BedExit, AlarmType.Fall] },
    };

    private static RuleEngine BedExitPending(RecordingSignal signal)
    {
        var e = Home.Engine(Profile, signal);
        e.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 23, 0)));
        e.OnEvent(Home.Ev(Home.Bed, false, Home.At(11, 24, 23, 20)));
        return e;
    }

    [Fact]
    public void A_held_alarm_is_sent_when_the_cancel_window_ends_without_a_press()
    {
        var signal = new RecordingSignal();
        var e = BedExitPending(signal);

        Assert.Empty(e.OnTime(Home.At(11, 24, 23, 25)));
        var (held, until) = Assert.Single(signal.Started);
        Assert.Equal((AlarmType.BedExit, Home.At(11, 24, 23, 26)), (held.Type, until));
        Assert.Equal(until, e.NextDue);

        var alarm = Assert.Single(e.OnTime(until));
        Assert.Equal((AlarmType.BedExit, AlarmState.Raised, Home.At(11, 24, 23, 25)), (alarm.Type, alarm.State, alarm.At));
        Assert.False(Assert.Single(signal.Ended).Cancelled);
    }

    [Fact]
    public void A_cancel_press_inside_the_window_still_reports_the_alarm_as_cancelled()
    {
        var signal = new RecordingSignal();
        var e = BedExitPending(signal);
        e.OnTime(Home.At(11, 24, 23, 25));

        var alarm = Assert.Single(e.Press(Home.Cancel, Home.At(11, 24, 23, 25).AddSeconds(40)));
        Assert.Equal((AlarmType.BedExit, AlarmState.Cancelled), (alarm.Type, alarm.State));
        Assert.Contains("cancelled by the resident at 23:25", alarm.Reason, StringComparison.Ordinal);
        Assert.True(Assert.Single(signal.Ended).Cancelled);
        Assert.Empty(e.RunUntil(Home.At(11, 25, 1, 0)));
    }

    [Fact]
    public void A_cancel_press_after_the_window_cancels_nothing()
    {
        var e = BedExitPending(new RecordingSignal());
        var sent = e.RunUntil(Home.At(11, 24, 23, 30));

        Assert.Equal(AlarmState.Raised, Assert.Single(sent).State);
        Assert.Empty(e.Press(Home.Cancel, Home.At(11, 24, 23, 31)));
    }

    [Fact]
    public void Panic_smoke_and_water_are_never_held_even_if_a_profile_lists_them()
    {
        var profile = new CareProfile { PreAlarm = new PreAlarmRule { Enabled = true, CancellableTypes = [AlarmType.Panic, AlarmType.Smoke, AlarmType.Water] } };
        var e = Home.Engine(profile);

        Assert.Equal(AlarmType.Panic, Assert.Single(e.Press(Home.Panic, Home.At(6, 1, 10, 0))).Type);
        Assert.Equal(AlarmType.Smoke, Assert.Single(e.OnEvent(Home.Ev(Home.Smoke, true, Home.At(6, 1, 10, 1)))).Type);
        Assert.Empty(e.Held);
    }

    [Fact]
    public void A_fall_is_held_at_most_the_short_guard_time()
    {
        var profile = new CareProfile
        {
            PreAlarm = new PreAlarmRule { Enabled = true, CancelWindowSeconds = 300, FallGuardSeconds = 120, CancellableTypes = [AlarmType.Fall] },
        };
        var e = Home.Engine(profile);
        var at = Home.At(6, 1, 10, 0);

        Assert.Empty(e.OnEvent(Home.Ev(Home.Fall, true, at)));
        Assert.Equal(at.AddSeconds(PreAlarmRule.MaxFallGuardSeconds), e.NextDue);
        Assert.Equal(AlarmType.Fall, Assert.Single(e.OnTime(at.AddSeconds(30))).Type);
    }

    [Fact]
    public void A_second_fall_while_the_first_is_held_sends_it_at_once_and_holds_no_second_one()
    {
        var profile = new CareProfile { PreAlarm = new PreAlarmRule { Enabled = true, FallGuardSeconds = 20, CancellableTypes = [AlarmType.Fall] } };
        var signal = new RecordingSignal();
        var e = Home.Engine(profile, signal);
        var at = Home.At(6, 1, 10, 0);
        Assert.Empty(e.OnEvent(Home.Ev(Home.Fall, true, at)));
        e.OnEvent(Home.Ev(Home.Fall, false, at.AddSeconds(2)));

        // The fall is detected again before the guard time is over: no time to wait for a cancel.
        var sent = Assert.Single(e.OnEvent(Home.Ev(Home.Fall, true, at.AddSeconds(4))));
        Assert.Equal((AlarmType.Fall, AlarmState.Raised, at), (sent.Type, sent.State, sent.At));
        Assert.Empty(e.Held);
        Assert.False(Assert.Single(signal.Ended).Cancelled);
        Assert.Empty(e.RunUntil(at.AddMinutes(5)));
    }
}

public class RestartTests
{
    private static readonly CareProfile Profile = new();

    private sealed class Gateway : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _running;

        public Gateway(TempDir dir, FakeTimeProvider clock, CareProfile profile)
        {
            Outbox = new SqliteOutbox(dir.File("outbox.db"));
            Runner = new RuleRunner(
                new RuleEngine(profile, Home.All),
                new AlarmRaiser(Outbox, () => profile),
                clock,
                NullLogger.Instance,
                new FileRuleStateStore(dir.File("rules-state.json"), NullLogger.Instance));
            _running = Runner.RunAsync(_stop.Token);
        }

        public SqliteOutbox Outbox { get; }

        public RuleRunner Runner { get; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _running;
            }
            catch (OperationCanceledException)
            {
            }

            Runner.Dispose();
            Outbox.Dispose();
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task A_gateway_rebooted_in_the_middle_of_the_night_still_raises_the_pending_bed_exit_alarm_once()
    {
        using var dir = new TempDir();
        var clock = new FakeTimeProvider(Home.At(11, 24, 23, 0));
        await using (var before = new Gateway(dir, clock, Profile))
        {
            before.Runner.Post(Home.Ev(Home.Bed, true, clock.GetUtcNow()));
            clock.Advance(TimeSpan.FromMinutes(20));
            before.Runner.Post(Home.Ev(Home.Bed, false, clock.GetUtcNow()));
            await before.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Empty(before.Outbox.All());
        }

        // Power cut from 23:21 to 23:40: the deadline (23:25) passes while the gateway is down.
        clock.Advance(TimeSpan.FromMinutes(20));
        await using (var after = new Gateway(dir, clock, Profile))
        {
            await after.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
            var alarm = Assert.Single(after.Outbox.All()).Alarm;
            Assert.Equal((AlarmType.BedExit, "bed-1", Home.At(11, 24, 23, 25)), (alarm.Type, alarm.SensorId, alarm.RaisedAt));
        }

        await using (var again = new Gateway(dir, clock, Profile))
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            await again.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Single(again.Outbox.All());
        }
    }

    [Fact]
    public async Task The_timer_fires_on_fake_time_without_a_restart()
    {
        using var dir = new TempDir();
        var clock = new FakeTimeProvider(Home.At(11, 24, 2, 14));
        await using var gateway = new Gateway(dir, clock, Profile);
        gateway.Runner.Post(Home.Ev(Home.FrontDoor, true, clock.GetUtcNow()));
        await gateway.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));

        clock.Advance(TimeSpan.FromMinutes(5));
        await gateway.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(AlarmType.Wandering, Assert.Single(gateway.Outbox.All()).Alarm.Type);
    }

    [Fact]
    public async Task Through_the_runner_a_cancelled_pre_alarm_reaches_the_outbox_as_cancelled_and_an_uncancelled_one_as_raised()
    {
        using var dir = new TempDir();
        var profile = new CareProfile { PreAlarm = new PreAlarmRule { Enabled = true, CancelWindowSeconds = 60 } };
        var clock = new FakeTimeProvider(Home.At(11, 24, 23, 0));
        await using var gateway = new Gateway(dir, clock, profile);

        gateway.Runner.Post(Home.Ev(Home.Bed, true, clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromMinutes(20));
        gateway.Runner.Post(Home.Ev(Home.Bed, false, clock.GetUtcNow()));
        await gateway.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromMinutes(5));
        await gateway.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(gateway.Outbox.All()); // held: the buzzer sounds, nothing is sent yet

        clock.Advance(TimeSpan.FromSeconds(20));
        gateway.Runner.Post(Home.Ev(Home.Cancel, true, clock.GetUtcNow()));
        await gateway.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(AlarmState.Cancelled, Assert.Single(gateway.Outbox.All()).Alarm.State);

        // The next night-time exit is not cancelled: it is sent when the window ends.
        gateway.Runner.Post(Home.Ev(Home.Cancel, false, clock.GetUtcNow()));
        gateway.Runner.Post(Home.Ev(Home.Bed, true, clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromMinutes(15));
        gateway.Runner.Post(Home.Ev(Home.Bed, false, clock.GetUtcNow()));
        await gateway.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromMinutes(5));
        await gateway.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(60));
        await gateway.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([AlarmState.Cancelled, AlarmState.Raised], gateway.Outbox.All().Select(a => a.Alarm.State));
    }

    [Fact]
    public async Task An_away_command_through_the_runner_pauses_wandering_and_survives_a_restart()
    {
        using var dir = new TempDir();
        var clock = new FakeTimeProvider(Home.At(11, 24, 21, 0));
        await using (var before = new Gateway(dir, clock, Profile))
        {
            before.Runner.PostAway(true, "centre");
            await before.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        clock.Advance(TimeSpan.FromHours(5)); // 02:00
        await using var after = new Gateway(dir, clock, Profile);
        after.Runner.Post(Home.Ev(Home.FrontDoor, true, clock.GetUtcNow()));
        await after.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromMinutes(30));
        await after.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(after.Outbox.All());

        after.Runner.PostAway(false, "centre");
        after.Runner.Post(Home.Ev(Home.FrontDoor, false, clock.GetUtcNow()));
        after.Runner.Post(Home.Ev(Home.FrontDoor, true, clock.GetUtcNow()));
        await after.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10)); // the grace timer is armed before time moves
        clock.Advance(TimeSpan.FromMinutes(5));
        await after.Runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(AlarmType.Wandering, Assert.Single(after.Outbox.All()).Alarm.Type);
    }

    [Fact]
    public void A_held_pre_alarm_survives_a_restart_and_sounds_again()
    {
        var profile = new CareProfile { PreAlarm = new PreAlarmRule { Enabled = true } };
        var first = Home.Engine(profile);
        first.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 23, 0)));
        first.OnEvent(Home.Ev(Home.Bed, false, Home.At(11, 24, 23, 20)));
        first.OnTime(Home.At(11, 24, 23, 25));
        var saved = RuleSnapshot.FromJson(first.Snapshot().ToJson())!;

        var signal = new RecordingSignal();
        var second = Home.Engine(profile, signal);
        second.Restore(saved);

        Assert.Single(signal.Started);
        Assert.Equal(AlarmState.Cancelled, Assert.Single(second.Press(Home.Cancel, Home.At(11, 24, 23, 25).AddSeconds(30))).State);
    }

    [Fact]
    public void An_unreadable_state_file_is_set_aside_and_the_rules_start_fresh()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("rules-state.json"), "{ not json");
        var store = new FileRuleStateStore(dir.File("rules-state.json"), NullLogger.Instance);

        Assert.Null(store.Load());
        Assert.True(File.Exists(dir.File("rules-state.json.unreadable")));
    }
}

public class OpenAlarmTests
{
    [Fact]
    public async Task A_repeating_button_makes_one_alarm_while_it_is_open_and_a_new_one_after_the_centre_closed_it()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"));
        var raiser = new AlarmRaiser(outbox, () => new CareProfile());
        var engine = Home.Engine();
        var at = Home.At(6, 1, 10, 0);

        for (var i = 0; i < 50; i++)
        {
            foreach (var request in engine.Press(Home.Panic, at.AddSeconds(i * 2)))
            {
                await raiser.RaiseUnlessOpenAsync(request, CancellationToken.None);
            }
        }

        var first = Assert.Single(outbox.All());
        outbox.ApplyAck(new AckMessage { AlarmId = first.Alarm.AlarmId, GatewayId = "gw-1", State = AckState.Closed, By = "op-1", At = at.AddMinutes(5) });

        foreach (var request in engine.Press(Home.Panic, at.AddMinutes(6)))
        {
            await raiser.RaiseUnlessOpenAsync(request, CancellationToken.None);
        }

        Assert.Equal(2, outbox.All().Count);
    }

    [Fact]
    public async Task A_cancelled_alarm_is_stored_as_cancelled_and_does_not_count_as_open()
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"));
        var raiser = new AlarmRaiser(outbox, () => new CareProfile());
        var at = Home.At(6, 1, 10, 0);

        var cancelled = await raiser.RaiseUnlessOpenAsync(new AlarmRequest(AlarmType.Fall, "fall-1", "bathroom", "Fall detected", at) { State = AlarmState.Cancelled }, CancellationToken.None);
        Assert.Equal(AlarmState.Cancelled, cancelled!.State);
        Assert.False(await outbox.HasOpenAsync(AlarmType.Fall, "fall-1", CancellationToken.None));
        Assert.NotNull(await raiser.RaiseUnlessOpenAsync(new AlarmRequest(AlarmType.Fall, "fall-1", "bathroom", "Fall detected", at.AddMinutes(1)), CancellationToken.None));
        Assert.True(await outbox.HasOpenAsync(AlarmType.Fall, "fall-1", CancellationToken.None));
        Assert.False(await outbox.HasOpenAsync(AlarmType.Fall, null, CancellationToken.None));
    }
}
