using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

public class RuleEngineTests
{
    private static readonly TimeZoneInfo Oslo = TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo");

    private static readonly SensorDefinition FrontDoor = new() { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", OuterDoor = true };
    private static readonly SensorDefinition BathDoor = new() { Id = "door-bath", Kind = SensorKind.Door, Room = "bathroom" };
    private static readonly SensorDefinition HallMotion = new() { Id = "pir-hall", Kind = SensorKind.Motion, Room = "hallway" };
    private static readonly SensorDefinition Panic = new() { Id = "panic-1", Kind = SensorKind.Panic, Room = "bedroom" };

    private static DateTimeOffset OsloTime(int year, int month, int day, int hour, int minute) =>
        new(new DateTime(year, month, day, hour, minute, 0), Oslo.GetUtcOffset(new DateTime(year, month, day, hour, minute, 0)));

    private static RuleEngine Engine(CareProfile? profile = null) => new(profile ?? new CareProfile(), [FrontDoor, BathDoor, HallMotion, Panic]);

    private static SensorEvent Ev(SensorDefinition s, bool active, DateTimeOffset at) => new(s.Id, s.Kind, s.Room, active, at);

    [Fact]
    public void A_panic_press_raises_a_panic_alarm_at_once()
    {
        var at = OsloTime(2026, 6, 1, 14, 0);
        var alarms = Engine().OnEvent(Ev(Panic, true, at));

        var alarm = Assert.Single(alarms);
        Assert.Equal((AlarmType.Panic, "panic-1", "bedroom", at), (alarm.Type, alarm.SensorId, alarm.Room, alarm.At));
    }

    [Fact]
    public void A_held_or_repeated_panic_state_does_not_raise_again_until_released()
    {
        var engine = Engine();
        var at = OsloTime(2026, 6, 1, 14, 0);
        Assert.Single(engine.OnEvent(Ev(Panic, true, at)));
        Assert.Empty(engine.OnEvent(Ev(Panic, true, at.AddSeconds(1))));
        Assert.Empty(engine.OnEvent(Ev(Panic, false, at.AddSeconds(2))));
        Assert.Single(engine.OnEvent(Ev(Panic, true, at.AddSeconds(3))));
    }

    [Fact]
    public void The_outer_door_opening_at_night_with_nobody_back_inside_raises_wandering_after_the_grace_time()
    {
        var clock = new FakeTimeProvider(OsloTime(2026, 11, 24, 2, 14));
        var engine = Engine();
        Assert.Empty(engine.OnEvent(Ev(FrontDoor, true, clock.GetUtcNow())));
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(engine.OnEvent(Ev(FrontDoor, false, clock.GetUtcNow())));

        Assert.Equal(OsloTime(2026, 11, 24, 2, 19), engine.NextDue);
        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Empty(engine.OnTime(clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromMinutes(1));

        var alarm = Assert.Single(engine.OnTime(clock.GetUtcNow()));
        Assert.Equal(AlarmType.Wandering, alarm.Type);
        Assert.Equal("door-front", alarm.SensorId);
        Assert.Contains("02:14", alarm.Reason, StringComparison.Ordinal);
        Assert.Null(engine.NextDue);
        Assert.Empty(engine.OnTime(clock.GetUtcNow().AddHours(1)));
    }

    [Fact]
    public void Movement_inside_after_the_door_closed_means_the_resident_came_back()
    {
        var t = OsloTime(2026, 11, 24, 2, 14);
        var engine = Engine();
        engine.OnEvent(Ev(FrontDoor, true, t));
        engine.OnEvent(Ev(FrontDoor, false, t.AddMinutes(1)));
        engine.OnEvent(Ev(HallMotion, true, t.AddMinutes(2)));

        Assert.Null(engine.NextDue);
        Assert.Empty(engine.OnTime(t.AddMinutes(30)));
    }

    [Fact]
    public void The_door_closing_alone_is_not_proof_of_return()
    {
        var t = OsloTime(2026, 11, 24, 2, 14);
        var engine = Engine();
        engine.OnEvent(Ev(FrontDoor, true, t));
        engine.OnEvent(Ev(FrontDoor, false, t.AddMinutes(1)));

        Assert.Single(engine.OnTime(t.AddMinutes(5)));
    }

    [Fact]
    public void Movement_while_the_door_is_still_open_does_not_count_as_return()
    {
        var t = OsloTime(2026, 11, 24, 2, 14);
        var engine = Engine();
        engine.OnEvent(Ev(FrontDoor, true, t));
        engine.OnEvent(Ev(HallMotion, true, t.AddSeconds(10)));

        Assert.Single(engine.OnTime(t.AddMinutes(5)));
    }

    [Theory]
    [InlineData(21, 59, false)]
    [InlineData(22, 0, true)]
    [InlineData(23, 30, true)]
    [InlineData(0, 0, true)]
    [InlineData(5, 59, true)]
    [InlineData(6, 0, false)]
    [InlineData(14, 0, false)]
    public void Wandering_is_watched_only_inside_the_night_window_across_midnight(int hour, int minute, bool watched)
    {
        var t = OsloTime(2026, 11, 24, hour, minute);
        var engine = Engine();
        engine.OnEvent(Ev(FrontDoor, true, t));

        Assert.Equal(watched, engine.OnTime(t.AddMinutes(5)).Count == 1);
    }

    [Fact]
    public void Only_the_outer_door_is_watched()
    {
        var t = OsloTime(2026, 11, 24, 2, 0);
        var engine = Engine();
        engine.OnEvent(Ev(BathDoor, true, t));

        // (The bathroom door does start the bathroom-stay timer; it never makes a wandering alarm.)
        Assert.DoesNotContain(engine.OnTime(t.AddHours(2)), a => a.Type == AlarmType.Wandering);
    }

    [Fact]
    public void The_night_window_follows_oslo_local_time_across_the_spring_dst_change()
    {
        // 2026-03-29: clocks go from 02:00 to 03:00 in Oslo. 05:30 local is 03:30 UTC after the change.
        var profile = new CareProfile();
        var engine = Engine(profile);
        var atLocal0530 = new DateTimeOffset(2026, 3, 29, 3, 30, 0, TimeSpan.Zero);
        var atLocal0630 = new DateTimeOffset(2026, 3, 29, 4, 30, 0, TimeSpan.Zero);

        engine.OnEvent(Ev(FrontDoor, true, atLocal0530));
        Assert.NotNull(engine.NextDue);

        var engine2 = Engine(profile);
        engine2.OnEvent(Ev(FrontDoor, true, atLocal0630));
        Assert.Null(engine2.NextDue);
    }

    [Fact]
    public void A_disabled_wandering_rule_never_fires()
    {
        var t = OsloTime(2026, 11, 24, 2, 0);
        var engine = Engine(new CareProfile { Wandering = new WanderingRule { Enabled = false } });
        engine.OnEvent(Ev(FrontDoor, true, t));

        Assert.Empty(engine.OnTime(t.AddHours(1)));
    }

    [Theory]
    [InlineData(SensorKind.Fall, AlarmType.Fall)]
    [InlineData(SensorKind.Smoke, AlarmType.Smoke)]
    [InlineData(SensorKind.Water, AlarmType.Water)]
    public void Fall_smoke_and_water_are_immediate(SensorKind kind, string type)
    {
        var sensor = new SensorDefinition { Id = "s-1", Kind = kind, Room = "kitchen" };
        var engine = new RuleEngine(new CareProfile(), [sensor]);

        Assert.Equal(type, Assert.Single(engine.OnEvent(Ev(sensor, true, OsloTime(2026, 6, 1, 12, 0)))).Type);
    }
}
