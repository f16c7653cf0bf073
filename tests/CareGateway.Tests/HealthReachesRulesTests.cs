using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>
/// The drivers' health reports (supervision offline/online, a battery report without a change of state) reach the
/// technical rules through the rule runner, and never count as a change of state.
/// </summary>
public class HealthReachesRulesTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly SensorDefinition Smoke = new() { Id = "smoke-kitchen", Kind = SensorKind.Smoke, Room = "kitchen" };
    private static readonly SensorDefinition Motion = new() { Id = "pir-hall", Kind = SensorKind.Motion, Room = "hallway" };

    [Fact]
    public async Task A_supervision_offline_report_becomes_one_sensor_offline_alarm()
    {
        var (outbox, runner, clock, stop, running) = Start(new CareProfile());

        runner.Post(new SensorEvent(Smoke.Id, Smoke.Kind, Smoke.Room, false, clock.GetUtcNow(), Type: SensorEventType.Offline, Detail: "supervision-timeout"));
        runner.Post(new SensorEvent(Smoke.Id, Smoke.Kind, Smoke.Room, false, clock.GetUtcNow().AddMinutes(1), Type: SensorEventType.Offline, Detail: "supervision-timeout"));
        await runner.DrainAsync().WaitAsync(Bound);

        var alarm = Assert.Single(outbox.Alarms);
        Assert.Equal((AlarmType.SensorOffline, Smoke.Id), (alarm.Type, alarm.SensorId));
        await StopAsync(stop, running, runner);
    }

    [Fact]
    public async Task A_battery_report_without_a_change_of_state_raises_low_battery_and_nothing_else()
    {
        var (outbox, runner, clock, stop, running) = Start(new CareProfile());

        runner.Post(new SensorEvent(Smoke.Id, Smoke.Kind, Smoke.Room, false, clock.GetUtcNow(), new SensorHealth { BatteryPercent = 9 }, SensorEventType.Heard));
        await runner.DrainAsync().WaitAsync(Bound);

        var alarm = Assert.Single(outbox.Alarms);
        Assert.Equal((AlarmType.LowBattery, Smoke.Id), (alarm.Type, alarm.SensorId));
        await StopAsync(stop, running, runner);
    }

    [Fact]
    public async Task A_repeated_cached_smoke_value_in_a_heard_report_is_not_a_new_smoke_alarm()
    {
        var (outbox, runner, clock, stop, running) = Start(new CareProfile());

        // zigbee2mqtt repeats every cached key in each message: a battery report may carry an old smoke=true.
        runner.Post(new SensorEvent(Smoke.Id, Smoke.Kind, Smoke.Room, true, clock.GetUtcNow(), new SensorHealth { BatteryPercent = 80 }, SensorEventType.Heard));
        await runner.DrainAsync().WaitAsync(Bound);

        Assert.Empty(outbox.Alarms);
        await StopAsync(stop, running, runner);
    }

    [Fact]
    public void A_heard_report_does_not_count_as_activity_for_the_inactivity_rule()
    {
        var t0 = new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.FromHours(2));
        var profile = new CareProfile { Inactivity = new InactivityRule { Enabled = true, DayHours = 2, NightHours = 2 } };
        var engine = new RuleEngine(profile, [Motion]);
        engine.OnEvent(new SensorEvent(Motion.Id, Motion.Kind, Motion.Room, true, t0));
        engine.OnEvent(new SensorEvent(Motion.Id, Motion.Kind, Motion.Room, false, t0.AddMinutes(1)));

        // Health-only reports every 30 minutes (battery), repeating a cached occupancy value.
        var alarms = new List<AlarmRequest>();
        for (var i = 1; i <= 5; i++)
        {
            alarms.AddRange(engine.OnEvent(new SensorEvent(Motion.Id, Motion.Kind, Motion.Room, true, t0.AddMinutes(30 * i), new SensorHealth { BatteryPercent = 70 }, SensorEventType.Heard)));
        }

        Assert.Contains(alarms, a => a.Type == AlarmType.Inactivity);
    }

    private static (MemoryOutbox Outbox, RuleRunner Runner, FakeTimeProvider Clock, CancellationTokenSource Stop, Task Running) Start(CareProfile profile)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 10, 0, 0, TimeSpan.Zero));
        var outbox = new MemoryOutbox();
        var runner = new RuleRunner(new RuleEngine(profile, [Smoke, Motion]), new AlarmRaiser(outbox, () => profile), clock, NullLogger.Instance);
        var stop = new CancellationTokenSource();
        return (outbox, runner, clock, stop, runner.RunAsync(stop.Token));
    }

    private static async Task StopAsync(CancellationTokenSource stop, Task running, RuleRunner runner)
    {
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        runner.Dispose();
        stop.Dispose();
    }
}
