using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway.Tests;

/// <summary>
/// A home with others in it (issue 13): a motion sensor that also sees a pet or a partner (<c>countsAsResident</c>
/// false) is not the resident's return after a night door opening, and does not keep inactivity from firing.
/// </summary>
public class CountsAsResidentTests
{
    private static readonly SensorDefinition PetMotion = new() { Id = "pir-living", Kind = SensorKind.Motion, Room = "living-room", CountsAsResident = false };

    private static RuleEngine Engine(CareProfile? profile = null) => new(profile ?? new CareProfile(), [.. Home.All, PetMotion]);

    [Fact]
    public void A_pets_motion_after_the_night_door_closes_does_not_drop_the_wandering_alarm()
    {
        var engine = Engine();
        var t = Home.At(11, 24, 2, 14);
        engine.OnEvent(Home.Ev(Home.FrontDoor, true, t));
        engine.OnEvent(Home.Ev(Home.FrontDoor, false, t.AddMinutes(1)));
        engine.OnEvent(Home.Ev(PetMotion, true, t.AddMinutes(2)));
        engine.OnEvent(Home.Ev(PetMotion, false, t.AddMinutes(2).AddSeconds(30)));
        engine.OnEvent(Home.Ev(PetMotion, true, t.AddMinutes(3)));

        var alarm = Assert.Single(engine.RunUntil(t.AddMinutes(30)));
        Assert.Equal((AlarmType.Wandering, "door-front", t.AddMinutes(5)), (alarm.Type, alarm.SensorId, alarm.At));
    }

    [Fact]
    public void The_residents_motion_after_the_night_door_closes_is_their_return()
    {
        var engine = Engine();
        var t = Home.At(11, 24, 2, 14);
        engine.OnEvent(Home.Ev(Home.FrontDoor, true, t));
        engine.OnEvent(Home.Ev(Home.FrontDoor, false, t.AddMinutes(1)));
        engine.OnEvent(Home.Ev(PetMotion, true, t.AddMinutes(2)));
        engine.OnEvent(Home.Ev(Home.HallMotion, true, t.AddMinutes(3)));

        Assert.Empty(engine.RunUntil(t.AddMinutes(30)));
    }

    [Fact]
    public void A_pet_moving_all_day_does_not_keep_inactivity_from_firing()
    {
        var engine = Engine(new CareProfile { Inactivity = new InactivityRule { Enabled = true, DayHours = 4, NightHours = 10 } });
        var t = Home.At(6, 1, 10, 0);
        engine.OnEvent(Home.Ev(Home.KitchenMotion, true, t));
        var alarms = new List<AlarmRequest>();
        for (var m = 10; m < 6 * 60; m += 10)
        {
            alarms.AddRange(engine.OnEvent(Home.Ev(PetMotion, true, t.AddMinutes(m))));
            alarms.AddRange(engine.OnEvent(Home.Ev(PetMotion, false, t.AddMinutes(m + 1))));
        }

        var alarm = Assert.Single(alarms);
        Assert.Equal((AlarmType.Inactivity, t.AddHours(4)), (alarm.Type, alarm.At));
    }
}

/// <summary>
/// The visitor state (issue 13): home care or a visitor present pauses inactivity, not-up, bathroom-stay and wandering,
/// never an immediate alarm; it ends by the button again, a command, or after <c>visitor.maxMinutes</c>.
/// </summary>
public class VisitorStateTests
{
    private static readonly SensorDefinition Water = new() { Id = "water-1", Kind = SensorKind.Water, Room = "kitchen" };
    private static readonly SensorDefinition VisitorButton = new() { Id = "visitor-1", Kind = SensorKind.VisitorButton, Room = "hallway" };

    private static CareProfile Profile() => new()
    {
        Inactivity = new InactivityRule { Enabled = true, DayHours = 1, NightHours = 10 },
        Visitor = new VisitorRule { MaxMinutes = 120 },
    };

    private static RuleEngine Engine() => new(Profile(), [.. Home.All, Water, VisitorButton]);

    [Theory]
    [InlineData(AlarmType.Panic, "button")]
    [InlineData(AlarmType.Fall, "button")]
    [InlineData(AlarmType.Smoke, "button")]
    [InlineData(AlarmType.Water, "button")]
    [InlineData(AlarmType.GatewayPower, "button")]
    [InlineData(AlarmType.Panic, "command")]
    [InlineData(AlarmType.Fall, "command")]
    [InlineData(AlarmType.Smoke, "command")]
    [InlineData(AlarmType.Water, "command")]
    [InlineData(AlarmType.GatewayPower, "command")]
    public void Each_immediate_alarm_is_still_raised_during_a_visit(string type, string setBy)
    {
        var engine = Engine();
        var t = Home.At(11, 24, 12, 0);
        if (setBy == "button")
        {
            engine.Press(VisitorButton, t);
        }
        else
        {
            engine.SetVisitor(true, t, "centre");
        }

        Assert.True(engine.IsVisitor);
        var sensor = type switch
        {
            AlarmType.Panic => Home.Panic,
            AlarmType.Fall => Home.Fall,
            AlarmType.Smoke => Home.Smoke,
            AlarmType.Water => Water,
            _ => Home.PowerFail,
        };

        var alarm = Assert.Single(engine.OnEvent(Home.Ev(sensor, true, t.AddMinutes(10))));
        Assert.Equal((type, AlarmState.Raised, t.AddMinutes(10)), (alarm.Type, alarm.State, alarm.At));
        Assert.True(engine.IsVisitor);
    }

    [Fact]
    public void Inactivity_is_paused_during_the_visit_and_counts_from_its_end()
    {
        var engine = Engine();
        var t = Home.At(6, 1, 10, 0);
        engine.OnEvent(Home.Ev(Home.KitchenMotion, true, t));
        engine.Press(VisitorButton, t.AddMinutes(30));

        Assert.Empty(engine.RunUntil(t.AddMinutes(100)));
        engine.Press(VisitorButton, t.AddMinutes(100));

        Assert.False(engine.IsVisitor);
        var alarm = Assert.Single(engine.RunUntil(t.AddHours(4)));
        Assert.Equal((AlarmType.Inactivity, t.AddMinutes(100).AddHours(1)), (alarm.Type, alarm.At));
    }

    [Fact]
    public void A_visit_nobody_ends_ends_by_itself_after_the_maximum_and_inactivity_counts_from_then()
    {
        var engine = Engine();
        var t = Home.At(6, 1, 10, 0);
        engine.OnEvent(Home.Ev(Home.KitchenMotion, true, t));
        engine.SetVisitor(true, t.AddMinutes(5), "centre");

        Assert.Equal(t.AddMinutes(125), engine.NextDue);
        Assert.Empty(engine.RunUntil(t.AddMinutes(124)));
        Assert.True(engine.IsVisitor);
        Assert.Empty(engine.RunUntil(t.AddMinutes(125)));
        Assert.False(engine.IsVisitor);

        var alarm = Assert.Single(engine.RunUntil(t.AddHours(5)));
        Assert.Equal((AlarmType.Inactivity, t.AddMinutes(125).AddHours(1)), (alarm.Type, alarm.At));
    }

    [Fact]
    public void The_night_door_during_a_visit_is_not_wandering()
    {
        var engine = Engine();
        var t = Home.At(11, 24, 22, 30);
        engine.SetVisitor(true, t, "centre");
        engine.OnEvent(Home.Ev(Home.FrontDoor, true, t.AddMinutes(20)));
        engine.OnEvent(Home.Ev(Home.FrontDoor, false, t.AddMinutes(21)));

        Assert.DoesNotContain(engine.RunUntil(t.AddMinutes(60)), a => a.Type == AlarmType.Wandering);
    }

    [Fact]
    public void A_long_bathroom_stay_during_a_visit_is_not_an_alarm()
    {
        var engine = Engine();
        var t = Home.At(6, 1, 12, 0);
        engine.SetVisitor(true, t, "home care");
        engine.OnEvent(Home.Ev(Home.BathMotion, true, t.AddMinutes(1)));

        Assert.DoesNotContain(engine.RunUntil(t.AddMinutes(110)), a => a.Type == AlarmType.BathroomStay);
    }

    [Fact]
    public void The_visitor_state_survives_a_restart()
    {
        var engine = Engine();
        var t = Home.At(6, 1, 10, 0);
        engine.OnEvent(Home.Ev(Home.KitchenMotion, true, t));
        engine.SetVisitor(true, t.AddMinutes(5), "centre");

        var restarted = Engine();
        restarted.Restore(RuleSnapshot.FromJson(engine.Snapshot().ToJson())!);

        Assert.True(restarted.IsVisitor);
        Assert.Equal(t.AddMinutes(125), restarted.NextDue);
        Assert.Empty(restarted.RunUntil(t.AddMinutes(124)));
    }
}
