using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway.Tests;

/// <summary>Shared sensors, times and helpers for the rule tests. Times are given as Oslo wall-clock time.</summary>
internal static class Home
{
    public static readonly TimeZoneInfo Oslo = TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo");

    public static readonly SensorDefinition FrontDoor = new() { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", OuterDoor = true };
    public static readonly SensorDefinition Bed = new() { Id = "bed-1", Kind = SensorKind.Bed, Room = "bedroom" };
    public static readonly SensorDefinition BathMotion = new() { Id = "pir-bath", Kind = SensorKind.Motion, Room = "bathroom" };
    public static readonly SensorDefinition HallMotion = new() { Id = "pir-hall", Kind = SensorKind.Motion, Room = "hallway" };
    public static readonly SensorDefinition KitchenMotion = new() { Id = "pir-kitchen", Kind = SensorKind.Motion, Room = "kitchen" };
    public static readonly SensorDefinition Panic = new() { Id = "panic-1", Kind = SensorKind.Panic, Room = "bedroom" };
    public static readonly SensorDefinition Cancel = new() { Id = "cancel-1", Kind = SensorKind.CancelButton, Room = "hallway" };
    public static readonly SensorDefinition AwayButton = new() { Id = "away-1", Kind = SensorKind.AwayButton, Room = "hallway" };
    public static readonly SensorDefinition Smoke = new() { Id = "smoke-1", Kind = SensorKind.Smoke, Room = "kitchen" };
    public static readonly SensorDefinition Fall = new() { Id = "fall-1", Kind = SensorKind.Fall, Room = "bathroom" };
    public static readonly SensorDefinition PowerFail = new() { Id = "power-1", Kind = SensorKind.PowerFail, Room = "hallway" };

    public static readonly SensorDefinition[] All = [FrontDoor, Bed, BathMotion, HallMotion, KitchenMotion, Panic, Cancel, AwayButton, Smoke, Fall, PowerFail];

    /// <summary>An Oslo wall-clock time that exists once (not in a DST gap or overlap).</summary>
    public static DateTimeOffset At(int month, int day, int hour, int minute, int year = 2026)
    {
        var local = new DateTime(year, month, day, hour, minute, 0);
        return new DateTimeOffset(local, Oslo.GetUtcOffset(local));
    }

    public static DateTimeOffset Utc(int month, int day, int hour, int minute) => new(2026, month, day, hour, minute, 0, TimeSpan.Zero);

    public static RuleEngine Engine(CareProfile? profile = null, IPreAlarmSignal? signal = null) => new(profile ?? new CareProfile(), All, signal);

    public static SensorEvent Ev(SensorDefinition s, bool active, DateTimeOffset at, SensorHealth? health = null) => new(s.Id, s.Kind, s.Room, active, at, health);

    /// <summary>A press and release of a button.</summary>
    public static IReadOnlyList<AlarmRequest> Press(this RuleEngine engine, SensorDefinition button, DateTimeOffset at)
    {
        var alarms = engine.OnEvent(Ev(button, true, at)).ToList();
        alarms.AddRange(engine.OnEvent(Ev(button, false, at.AddSeconds(1))));
        return alarms;
    }

    /// <summary>Runs the engine's timers up to <paramref name="until"/> as the runner would, collecting the alarms.</summary>
    public static List<AlarmRequest> RunUntil(this RuleEngine engine, DateTimeOffset until)
    {
        var alarms = new List<AlarmRequest>();
        while (engine.NextDue is { } due && due <= until)
        {
            alarms.AddRange(engine.OnTime(due));
        }

        alarms.AddRange(engine.OnTime(until));
        return alarms;
    }
}

public class BedExitTests
{
    [Fact]
    public void Out_of_bed_at_night_after_ten_minutes_in_bed_and_not_back_within_five_raises_bed_exit()
    {
        var e = Home.Engine();
        e.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 23, 0)));
        Assert.Empty(e.OnEvent(Home.Ev(Home.Bed, false, Home.At(11, 24, 23, 20))));

        Assert.Equal(Home.At(11, 24, 23, 25), e.NextDue);
        Assert.Empty(e.OnTime(Home.At(11, 24, 23, 24)));
        var alarm = Assert.Single(e.OnTime(Home.At(11, 24, 23, 25)));
        Assert.Equal((AlarmType.BedExit, "bed-1", "bedroom", Home.At(11, 24, 23, 25)), (alarm.Type, alarm.SensorId, alarm.Room, alarm.At));
        Assert.Contains("23:20", alarm.Reason, StringComparison.Ordinal);
        Assert.Empty(e.RunUntil(Home.At(11, 25, 5, 0)));
    }

    [Fact]
    public void Getting_into_bed_and_out_again_before_the_minimum_time_is_not_an_alarm()
    {
        var e = Home.Engine();
        e.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 23, 0)));
        e.OnEvent(Home.Ev(Home.Bed, false, Home.At(11, 24, 23, 9)));

        Assert.Empty(e.RunUntil(Home.At(11, 25, 1, 0)));
    }

    [Fact]
    public void Back_in_bed_within_the_allowed_minutes_is_not_an_alarm()
    {
        var e = Home.Engine();
        e.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 23, 0)));
        e.OnEvent(Home.Ev(Home.Bed, false, Home.At(11, 24, 23, 30)));
        e.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 23, 34)));

        Assert.Empty(e.RunUntil(Home.At(11, 25, 1, 0)));
    }

    [Theory]
    [InlineData(21, 50, false)]
    [InlineData(22, 0, true)]
    [InlineData(0, 10, true)]
    [InlineData(5, 59, true)]
    [InlineData(6, 0, false)]
    [InlineData(14, 0, false)]
    public void Bed_exit_counts_only_inside_the_night_window_across_midnight(int hour, int minute, bool alarm)
    {
        var outAt = Home.At(11, 24, hour, minute);
        var e = Home.Engine();
        e.OnEvent(Home.Ev(Home.Bed, true, outAt.AddMinutes(-30)));
        e.OnEvent(Home.Ev(Home.Bed, false, outAt));

        Assert.Equal(alarm, e.RunUntil(outAt.AddHours(1)).Any(a => a.Type == AlarmType.BedExit));
    }

    [Fact]
    public void Bed_exit_waits_five_real_minutes_across_the_spring_dst_change()
    {
        // 2026-03-29 in Oslo: 02:00 CET becomes 03:00 CEST (01:00 UTC). Out of bed at 01:58 CET.
        var e = Home.Engine();
        e.OnEvent(Home.Ev(Home.Bed, true, Home.Utc(3, 29, 0, 30)));
        e.OnEvent(Home.Ev(Home.Bed, false, Home.Utc(3, 29, 0, 58)));

        var alarm = Assert.Single(e.RunUntil(Home.Utc(3, 29, 2, 0)));
        Assert.Equal(Home.Utc(3, 29, 1, 3), alarm.At); // 03:03 CEST
    }

    [Fact]
    public void Bed_exit_waits_five_real_minutes_in_the_repeated_hour_of_the_autumn_dst_change()
    {
        // 2026-10-25 in Oslo: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:00-03:00 local happens twice.
        var e = Home.Engine();
        e.OnEvent(Home.Ev(Home.Bed, true, Home.Utc(10, 25, 0, 10)));   // 02:10 CEST
        e.OnEvent(Home.Ev(Home.Bed, false, Home.Utc(10, 25, 1, 10)));  // 02:10 CET, the second time

        var alarm = Assert.Single(e.RunUntil(Home.Utc(10, 25, 3, 0)));
        Assert.Equal(Home.Utc(10, 25, 1, 15), alarm.At);
        Assert.Contains("after 60 min in bed", alarm.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disabled_bed_exit_rule_never_fires()
    {
        var e = Home.Engine(new CareProfile { BedExit = new BedExitRule { Enabled = false } });
        e.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 23, 0)));
        e.OnEvent(Home.Ev(Home.Bed, false, Home.At(11, 24, 23, 30)));

        Assert.Empty(e.RunUntil(Home.At(11, 25, 1, 0)));
    }
}

public class BathroomStayTests
{
    private static readonly CareProfile Profile = new() { BathroomStay = new BathroomStayRule { MaxMinutes = 45 } };

    [Fact]
    public void Activity_in_the_bathroom_and_nowhere_else_beyond_the_threshold_raises_bathroom_stay()
    {
        var e = Home.Engine(Profile);
        e.OnEvent(Home.Ev(Home.HallMotion, true, Home.At(6, 1, 14, 0)));
        e.OnEvent(Home.Ev(Home.BathMotion, true, Home.At(6, 1, 14, 1)));
        e.OnEvent(Home.Ev(Home.HallMotion, false, Home.At(6, 1, 14, 1)));
        e.OnEvent(Home.Ev(Home.BathMotion, false, Home.At(6, 1, 14, 3)));
        e.OnEvent(Home.Ev(Home.BathMotion, true, Home.At(6, 1, 14, 20)));

        Assert.Equal(Home.At(6, 1, 14, 46), e.NextDue);
        var alarm = Assert.Single(e.RunUntil(Home.At(6, 1, 16, 0)));
        Assert.Equal((AlarmType.BathroomStay, "pir-bath", "bathroom", Home.At(6, 1, 14, 46)), (alarm.Type, alarm.SensorId, alarm.Room, alarm.At));
        Assert.Contains("14:01", alarm.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Activity_elsewhere_means_the_resident_left_the_bathroom()
    {
        var e = Home.Engine(Profile);
        e.OnEvent(Home.Ev(Home.BathMotion, true, Home.At(6, 1, 14, 1)));
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 14, 20)));

        Assert.Empty(e.RunUntil(Home.At(6, 1, 16, 0)));
    }

    [Fact]
    public void The_hallway_sensor_seeing_the_resident_go_in_is_not_a_way_out()
    {
        var e = Home.Engine(Profile);
        e.OnEvent(Home.Ev(Home.BathMotion, true, Home.At(6, 1, 14, 1)));
        e.OnEvent(Home.Ev(Home.HallMotion, true, Home.At(6, 1, 14, 1).AddSeconds(5)));

        Assert.Single(e.RunUntil(Home.At(6, 1, 16, 0)), a => a.Type == AlarmType.BathroomStay);
    }

    [Fact]
    public void The_bathroom_door_counts_as_going_in()
    {
        var door = new SensorDefinition { Id = "door-bath", Kind = SensorKind.Door, Room = "bathroom" };
        var e = new RuleEngine(Profile, [door, Home.HallMotion]);
        e.OnEvent(Home.Ev(door, true, Home.At(6, 1, 14, 0)));
        e.OnEvent(Home.Ev(door, false, Home.At(6, 1, 14, 0).AddSeconds(10)));

        Assert.Equal(Home.At(6, 1, 14, 45), Assert.Single(e.RunUntil(Home.At(6, 1, 16, 0))).At);
    }
}

public class NotUpTests
{
    private static readonly CareProfile Profile = new() { NotUp = new NotUpRule { Enabled = true, Deadline = new TimeOnly(9, 0) } };

    [Fact]
    public void Still_in_bed_at_the_morning_deadline_raises_not_up_once()
    {
        var e = Home.Engine(Profile);
        e.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 22, 30)));

        var alarms = e.RunUntil(Home.At(11, 25, 12, 0));
        var alarm = Assert.Single(alarms);
        Assert.Equal((AlarmType.NotUp, "bed-1", Home.At(11, 25, 9, 0)), (alarm.Type, alarm.SensorId, alarm.At));
        Assert.Contains("Still in bed", alarm.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Up_and_about_before_the_deadline_is_not_an_alarm()
    {
        var e = Home.Engine(Profile);
        e.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 22, 30)));
        e.OnEvent(Home.Ev(Home.Bed, false, Home.At(11, 25, 7, 30)));
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(11, 25, 7, 40)));

        Assert.Empty(e.RunUntil(Home.At(11, 25, 12, 0)));
    }

    [Fact]
    public void No_activity_since_the_night_ended_raises_not_up_without_a_bed_sensor()
    {
        var e = new RuleEngine(Profile, [Home.KitchenMotion]);
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(11, 24, 21, 0)));

        var alarm = Assert.Single(e.RunUntil(Home.At(11, 25, 12, 0)));
        Assert.Contains("No activity between 06:00", alarm.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3, 29, 7)]   // spring: 09:00 CEST is 07:00 UTC
    [InlineData(10, 25, 8)]  // autumn: 09:00 CET is 08:00 UTC
    public void The_deadline_is_local_time_on_both_dst_change_days(int month, int day, int utcHour)
    {
        var e = Home.Engine(Profile);
        e.OnEvent(Home.Ev(Home.Bed, true, Home.Utc(month, day - 1, 21, 0)));

        Assert.Equal(Home.Utc(month, day, utcHour, 0), e.RunUntil(Home.Utc(month, day, 12, 0)).Single().At);
    }
}

public class DailyTimeAcrossDstTests
{
    private static CareProfile NotUpAt(int hour, int minute) => new()
    {
        NotUp = new NotUpRule { Enabled = true, Deadline = new TimeOnly(hour, minute), From = new TimeOnly(0, 0) },
    };

    [Fact]
    public void A_daily_time_that_does_not_exist_on_the_spring_change_day_happens_when_the_clocks_jump()
    {
        // 02:30 does not exist in Oslo on 2026-03-29: the check runs an hour on, at 03:30 CEST (01:30 UTC); it is never skipped.
        var e = Home.Engine(NotUpAt(2, 30));
        e.OnEvent(Home.Ev(Home.Bed, true, Home.Utc(3, 28, 21, 0)));

        var alarm = Assert.Single(e.RunUntil(Home.Utc(3, 29, 12, 0)));
        Assert.Equal(Home.Utc(3, 29, 1, 30), alarm.At);
    }

    [Fact]
    public void A_daily_time_that_happens_twice_on_the_autumn_change_day_is_checked_once()
    {
        var e = Home.Engine(NotUpAt(2, 30));
        e.OnEvent(Home.Ev(Home.Bed, true, Home.Utc(10, 24, 21, 0)));

        var alarm = Assert.Single(e.RunUntil(Home.Utc(10, 25, 12, 0)));
        Assert.Equal(Home.Utc(10, 25, 0, 30), alarm.At); // 02:30 CEST, the first of the two
    }
}

public class InactivityTests
{
    private static CareProfile Continuous(double day = 4, double night = 10) => new()
    {
        Inactivity = new InactivityRule { Enabled = true, DayHours = day, NightHours = night },
    };

    [Fact]
    public void No_activity_for_longer_than_the_day_threshold_raises_inactivity_once()
    {
        var e = Home.Engine(Continuous());
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 10, 0)));

        Assert.Equal(Home.At(6, 1, 14, 0), e.NextDue);
        var alarm = Assert.Single(e.RunUntil(Home.At(6, 1, 21, 0)));
        Assert.Equal((AlarmType.Inactivity, Home.At(6, 1, 14, 0)), (alarm.Type, alarm.At));
    }

    [Fact]
    public void New_activity_starts_a_new_quiet_period()
    {
        var e = Home.Engine(Continuous());
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 10, 0)));
        Assert.Single(e.RunUntil(Home.At(6, 1, 15, 0)));
        e.OnEvent(Home.Ev(Home.KitchenMotion, false, Home.At(6, 1, 15, 1)));
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 15, 2)));

        Assert.Equal(Home.At(6, 1, 19, 2), Assert.Single(e.RunUntil(Home.At(6, 1, 21, 0))).At);
    }

    [Fact]
    public void A_quiet_period_that_reaches_into_the_night_uses_the_night_threshold_so_sleep_is_not_an_alarm_at_dawn()
    {
        var e = Home.Engine(Continuous(day: 4, night: 10));
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 21, 0)));

        // 4 h of quiet would end at 01:00, but the quiet period reached the night at 22:00: 10 h applies.
        Assert.Equal(Home.At(6, 2, 7, 0), Assert.Single(e.RunUntil(Home.At(6, 2, 12, 0))).At);
    }

    [Fact]
    public void A_quiet_period_by_day_that_ends_before_the_night_uses_the_day_threshold()
    {
        var e = Home.Engine(Continuous(day: 4, night: 10));
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 18, 0)));

        Assert.Equal(Home.At(6, 1, 22, 0), Assert.Single(e.RunUntil(Home.At(6, 2, 12, 0))).At);
    }

    [Fact]
    public void A_night_threshold_shorter_than_the_day_one_applies_from_the_start_of_the_night()
    {
        var e = Home.Engine(Continuous(day: 8, night: 2));
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 19, 0)));

        Assert.Equal(Home.At(6, 1, 22, 0), Assert.Single(e.RunUntil(Home.At(6, 2, 12, 0))).At);
    }

    [Fact]
    public void The_day_threshold_is_not_applied_at_night()
    {
        var e = Home.Engine(Continuous(day: 2, night: 6));
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 22, 30)));

        Assert.Equal(Home.At(6, 2, 4, 30), Assert.Single(e.RunUntil(Home.At(6, 2, 12, 0))).At);
    }

    [Fact]
    public void In_window_mode_no_activity_inside_a_daily_window_raises_inactivity_when_it_ends()
    {
        var profile = new CareProfile
        {
            Inactivity = new InactivityRule { Enabled = true, Mode = InactivityMode.Windows, Windows = [new(new TimeOnly(7, 0), new TimeOnly(11, 0))] },
        };
        var quiet = Home.Engine(profile);
        quiet.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 20, 0)));
        var busy = Home.Engine(profile);
        busy.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 20, 0)));
        busy.OnEvent(Home.Ev(Home.KitchenMotion, false, Home.At(6, 2, 8, 0)));
        busy.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 2, 8, 1)));

        var alarm = Assert.Single(quiet.RunUntil(Home.At(6, 2, 12, 0)));
        Assert.Equal((AlarmType.Inactivity, Home.At(6, 2, 11, 0)), (alarm.Type, alarm.At));
        Assert.Contains("07:00-11:00", alarm.Reason, StringComparison.Ordinal);
        Assert.Empty(busy.RunUntil(Home.At(6, 2, 12, 0)));
    }

    [Fact]
    public void Inactivity_is_paused_while_away_and_counts_from_the_return()
    {
        var e = Home.Engine(Continuous());
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 10, 0)));
        e.Press(Home.AwayButton, Home.At(6, 1, 10, 5));

        Assert.Empty(e.RunUntil(Home.At(6, 1, 15, 0)));
        e.Press(Home.AwayButton, Home.At(6, 1, 15, 0));
        Assert.False(e.IsAway);
        Assert.Equal(Home.At(6, 1, 19, 0), Assert.Single(e.RunUntil(Home.At(6, 1, 21, 0))).At);
    }
}

public class AwayTests
{
    [Fact]
    public void Away_pauses_the_door_and_bed_rules_but_never_smoke_or_panic_and_a_panic_press_ends_it()
    {
        var e = Home.Engine();
        e.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 22, 0)));
        e.Press(Home.AwayButton, Home.At(11, 24, 23, 0));
        Assert.True(e.IsAway);

        e.OnEvent(Home.Ev(Home.Bed, false, Home.At(11, 24, 23, 1)));
        e.OnEvent(Home.Ev(Home.FrontDoor, true, Home.At(11, 24, 23, 2)));
        e.OnEvent(Home.Ev(Home.FrontDoor, false, Home.At(11, 24, 23, 3)));
        Assert.Empty(e.RunUntil(Home.At(11, 25, 0, 0)));

        Assert.Equal(AlarmType.Smoke, Assert.Single(e.OnEvent(Home.Ev(Home.Smoke, true, Home.At(11, 25, 0, 1)))).Type);
        Assert.True(e.IsAway);
        Assert.Equal(AlarmType.Panic, Assert.Single(e.Press(Home.Panic, Home.At(11, 25, 0, 2))).Type);
        Assert.False(e.IsAway);
    }

    [Fact]
    public void Away_longer_than_the_maximum_is_reported_once()
    {
        var e = Home.Engine(new CareProfile { Away = new AwayRule { MaxHours = 24 } });
        e.SetAway(true, Home.At(6, 1, 10, 0), "centre");

        var alarm = Assert.Single(e.RunUntil(Home.At(6, 3, 10, 0)));
        Assert.Equal((AlarmType.Wandering, null, Home.At(6, 2, 10, 0)), (alarm.Type, alarm.SensorId, alarm.At));
        Assert.Contains("set by centre", alarm.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_door_then_movement_inside_ends_the_away_state()
    {
        var e = Home.Engine();
        e.SetAway(true, Home.At(6, 1, 10, 0), "centre");
        e.OnEvent(Home.Ev(Home.HallMotion, true, Home.At(6, 1, 10, 1)));
        Assert.True(e.IsAway); // movement without the door: e.g. the resident walking out

        e.OnEvent(Home.Ev(Home.FrontDoor, true, Home.At(6, 1, 15, 0)));
        e.OnEvent(Home.Ev(Home.FrontDoor, false, Home.At(6, 1, 15, 1)));
        Assert.True(e.IsAway);
        e.OnEvent(Home.Ev(Home.HallMotion, false, Home.At(6, 1, 15, 1)));
        e.OnEvent(Home.Ev(Home.HallMotion, true, Home.At(6, 1, 15, 2)));
        Assert.False(e.IsAway);
    }

    [Fact]
    public void A_door_sequence_by_day_with_nobody_inside_afterwards_sets_away_when_configured()
    {
        var e = Home.Engine(new CareProfile { Away = new AwayRule { AutoAfterMinutes = 15 } });
        e.OnEvent(Home.Ev(Home.FrontDoor, true, Home.At(6, 1, 10, 0)));
        e.OnEvent(Home.Ev(Home.FrontDoor, false, Home.At(6, 1, 10, 1)));
        Assert.Equal(Home.At(6, 1, 10, 16), e.NextDue);

        e.RunUntil(Home.At(6, 1, 10, 20));
        Assert.True(e.IsAway);
    }

    [Fact]
    public void A_door_sequence_followed_by_movement_inside_is_not_away()
    {
        var e = Home.Engine(new CareProfile { Away = new AwayRule { AutoAfterMinutes = 15 } });
        e.OnEvent(Home.Ev(Home.FrontDoor, true, Home.At(6, 1, 10, 0)));
        e.OnEvent(Home.Ev(Home.FrontDoor, false, Home.At(6, 1, 10, 1)));
        e.OnEvent(Home.Ev(Home.KitchenMotion, true, Home.At(6, 1, 10, 3)));

        e.RunUntil(Home.At(6, 1, 11, 0));
        Assert.False(e.IsAway);
    }
}

public class TechnicalRuleTests
{
    [Fact]
    public void A_low_battery_is_reported_once_until_it_is_replaced()
    {
        var e = Home.Engine();
        var low = new SensorHealth { BatteryPercent = 9 };
        var alarm = Assert.Single(e.OnEvent(Home.Ev(Home.FrontDoor, false, Home.At(6, 1, 10, 0), low)));
        Assert.Equal((AlarmType.LowBattery, "door-front"), (alarm.Type, alarm.SensorId));
        Assert.Contains("9 %", alarm.Reason, StringComparison.Ordinal);

        Assert.Empty(e.OnEvent(Home.Ev(Home.FrontDoor, false, Home.At(6, 1, 11, 0), new SensorHealth { BatteryLow = true })));
        Assert.Empty(e.OnEvent(Home.Ev(Home.FrontDoor, false, Home.At(6, 2, 11, 0), new SensorHealth { BatteryPercent = 100 })));
        Assert.Single(e.OnEvent(Home.Ev(Home.FrontDoor, false, Home.At(6, 9, 11, 0), new SensorHealth { BatteryLow = true })));
    }

    [Fact]
    public void Tamper_is_reported_on_its_rising_edge()
    {
        var e = Home.Engine();
        Assert.Equal(AlarmType.Tamper, Assert.Single(e.OnEvent(Home.Ev(Home.Smoke, false, Home.At(6, 1, 10, 0), new SensorHealth { Tamper = true }))).Type);
        Assert.Empty(e.OnEvent(Home.Ev(Home.Smoke, false, Home.At(6, 1, 10, 1), new SensorHealth { Tamper = true })));
    }

    [Fact]
    public void An_offline_report_raises_sensor_offline_and_its_state_field_is_ignored()
    {
        var e = Home.Engine();
        var offline = new SensorHealth { Offline = true };
        Assert.Equal(AlarmType.SensorOffline, Assert.Single(e.OnEvent(Home.Ev(Home.Smoke, true, Home.At(6, 1, 10, 0), offline))).Type);
        Assert.Empty(e.OnEvent(Home.Ev(Home.Smoke, true, Home.At(6, 1, 10, 5), offline)));

        // Back online with the real state: smoke is only now a fact.
        Assert.Equal(AlarmType.Smoke, Assert.Single(e.OnEvent(Home.Ev(Home.Smoke, true, Home.At(6, 1, 11, 0), new SensorHealth { Offline = false }))).Type);
    }

    [Fact]
    public void A_power_fail_input_raises_gateway_power_and_can_be_turned_off()
    {
        Assert.Equal(AlarmType.GatewayPower, Assert.Single(Home.Engine().OnEvent(Home.Ev(Home.PowerFail, true, Home.At(6, 1, 10, 0)))).Type);

        var off = Home.Engine(new CareProfile { Technical = new TechnicalRules { GatewayPower = false } });
        Assert.Empty(off.OnEvent(Home.Ev(Home.PowerFail, true, Home.At(6, 1, 10, 0))));
    }
}
