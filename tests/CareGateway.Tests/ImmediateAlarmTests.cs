using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway.Tests;

/// <summary>
/// No state of the home mutes an immediate alarm (issue 13): panic, fall, smoke, water and gateway-power are raised
/// while away (set by the button, a command or the door sequence), while a pre-alarm of another type is held, and with
/// both at once. Making away mode mute any of them must break a test here.
/// </summary>
public class ImmediateAlarmTests
{
    private static readonly SensorDefinition Water = new() { Id = "water-1", Kind = SensorKind.Water, Room = "kitchen" };
    private static readonly SensorDefinition[] Sensors = [.. Home.All, Water];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var type in new[] { AlarmType.Panic, AlarmType.Fall, AlarmType.Smoke, AlarmType.Water, AlarmType.GatewayPower })
        {
            foreach (var state in new[] { "away-button", "away-command", "away-door-sequence", "held-pre-alarm", "away-and-held-pre-alarm" })
            {
                data.Add(type, state);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void An_immediate_alarm_is_raised_in_the_same_evaluation_whatever_the_home_state(string type, string state)
    {
        var engine = new RuleEngine(Profile(fallGuard: false), Sensors);
        var at = Enter(engine, state);

        var alarm = Assert.Single(engine.OnEvent(Home.Ev(SensorFor(type), true, at)));

        Assert.Equal((type, SensorFor(type).Id, AlarmState.Raised, at), (alarm.Type, alarm.SensorId, alarm.State, alarm.At));
        if (state.Contains("held", StringComparison.Ordinal))
        {
            // The other type's pre-alarm is still held: the immediate alarm did not wait for it, nor end it.
            Assert.Equal(AlarmType.BedExit, Assert.Single(engine.Held).Type);
        }
    }

    [Theory]
    [InlineData("away-button")]
    [InlineData("away-command")]
    [InlineData("held-pre-alarm")]
    [InlineData("away-and-held-pre-alarm")]
    public void A_fall_held_by_the_fall_guard_is_still_sent_when_the_guard_ends_while_away(string state)
    {
        var engine = new RuleEngine(Profile(fallGuard: true), Sensors);
        var at = Enter(engine, state);

        Assert.DoesNotContain(engine.OnEvent(Home.Ev(Home.Fall, true, at)), a => a.Type == AlarmType.Fall);
        Assert.Contains(engine.Held, h => h.Type == AlarmType.Fall);

        var sent = engine.RunUntil(at.AddSeconds(15));
        var fall = Assert.Single(sent, a => a.Type == AlarmType.Fall);
        Assert.Equal((AlarmState.Raised, at), (fall.State, fall.At));
    }

    [Theory]
    [InlineData(AlarmType.Panic)]
    [InlineData(AlarmType.Fall)]
    [InlineData(AlarmType.Smoke)]
    [InlineData(AlarmType.Water)]
    [InlineData(AlarmType.GatewayPower)]
    public void Away_set_again_after_each_alarm_never_mutes_the_next_one(string type)
    {
        var engine = new RuleEngine(Profile(fallGuard: false), Sensors);
        var sensor = SensorFor(type);
        var at = Home.At(11, 24, 12, 0);
        for (var i = 0; i < 3; i++, at = at.AddMinutes(10))
        {
            engine.SetAway(true, at, "centre");
            engine.OnEvent(Home.Ev(sensor, false, at.AddMinutes(1)));
            Assert.Contains(engine.OnEvent(Home.Ev(sensor, true, at.AddMinutes(2))), a => a.Type == type && a.State == AlarmState.Raised);
        }
    }

    private static SensorDefinition SensorFor(string type) => type switch
    {
        AlarmType.Panic => Home.Panic,
        AlarmType.Fall => Home.Fall,
        AlarmType.Smoke => Home.Smoke,
        AlarmType.Water => Water,
        AlarmType.GatewayPower => Home.PowerFail,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>The pre-alarm on for bed-exit (and, with the fall guard, for falls), the door sequence setting away.</summary>
    private static CareProfile Profile(bool fallGuard) => new()
    {
        Away = new AwayRule { AutoAfterMinutes = 15 },
        PreAlarm = new PreAlarmRule
        {
            Enabled = true,
            CancelWindowSeconds = 60,
            FallGuardSeconds = 15,
            CancellableTypes = fallGuard ? [AlarmType.BedExit, AlarmType.Fall] : [AlarmType.BedExit],
        },
    };

    /// <summary>Puts the home into the named state; returns the time at which to raise the event.</summary>
    private static DateTimeOffset Enter(RuleEngine engine, string state)
    {
        switch (state)
        {
            case "away-button":
                engine.Press(Home.AwayButton, Home.At(11, 24, 12, 0));
                Assert.True(engine.IsAway);
                return Home.At(11, 24, 12, 30);
            case "away-command":
                engine.SetAway(true, Home.At(11, 24, 12, 0), "centre");
                Assert.True(engine.IsAway);
                return Home.At(11, 24, 12, 30);
            case "away-door-sequence":
                engine.OnEvent(Home.Ev(Home.FrontDoor, true, Home.At(11, 24, 12, 0)));
                engine.OnEvent(Home.Ev(Home.FrontDoor, false, Home.At(11, 24, 12, 1)));
                engine.RunUntil(Home.At(11, 24, 12, 20));
                Assert.True(engine.IsAway);
                return Home.At(11, 24, 12, 30);
            case "held-pre-alarm":
            case "away-and-held-pre-alarm":
                // Out of bed at night and not back: bed-exit is held for the cancel window from 23:25.
                engine.OnEvent(Home.Ev(Home.Bed, true, Home.At(11, 24, 22, 0)));
                engine.OnEvent(Home.Ev(Home.Bed, false, Home.At(11, 24, 23, 20)));
                Assert.Empty(engine.RunUntil(Home.At(11, 24, 23, 25)));
                Assert.Equal(AlarmType.BedExit, Assert.Single(engine.Held).Type);
                if (state == "away-and-held-pre-alarm")
                {
                    engine.SetAway(true, Home.At(11, 24, 23, 25), "centre");
                    Assert.True(engine.IsAway);
                }

                return Home.At(11, 24, 23, 25).AddSeconds(20);
            default:
                throw new ArgumentOutOfRangeException(nameof(state), state, null);
        }
    }
}
