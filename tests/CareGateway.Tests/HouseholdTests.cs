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
