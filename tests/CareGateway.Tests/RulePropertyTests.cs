using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;
using FsCheck.Xunit;

namespace CareGateway.Tests;

/// <summary>
/// Invariants of the rules over arbitrary event sequences. Each generated integer is decoded into one step (which
/// sensor, which state, how much later, or just the passing of time), starting on a day that may be a DST change day.
/// </summary>
public class RulePropertyTests
{
    private static readonly DateTimeOffset[] Starts =
    [
        Home.At(11, 24, 21, 0),
        Home.Utc(3, 28, 20, 0),   // the night of the spring DST change
        Home.Utc(10, 24, 20, 0),  // the night of the autumn DST change
        Home.At(6, 1, 9, 0),
    ];

    private static CareProfile Profile(int flags) => new()
    {
        Wandering = new WanderingRule { GraceMinutes = 1 + (flags & 7) },
        BedExit = new BedExitRule { MinInBedMinutes = flags & 15, MaxAbsentMinutes = 1 + ((flags >> 4) & 7) },
        BathroomStay = new BathroomStayRule { MaxMinutes = 5 + ((flags >> 3) & 31) },
        NotUp = new NotUpRule { Enabled = (flags & 64) != 0 },
        Inactivity = new InactivityRule { Enabled = (flags & 128) != 0, DayHours = 1, NightHours = 2 },
        Away = new AwayRule { MaxHours = 1 + ((flags >> 8) & 3), AutoAfterMinutes = (flags & 1024) != 0 ? 10 : null },
        PreAlarm = new PreAlarmRule
        {
            Enabled = (flags & 2048) != 0,
            CancelWindowSeconds = 30,
            CancellableTypes = [AlarmType.BedExit, AlarmType.NotUp, AlarmType.Inactivity, AlarmType.BathroomStay, AlarmType.Fall, AlarmType.Wandering, AlarmType.Panic, AlarmType.Smoke],
        },
    };

    private sealed record Step(SensorEvent? Event, DateTimeOffset At);

    private static List<Step> Decode(int start, int[] script)
    {
        var t = Starts[(int)((uint)start % Starts.Length)];
        var steps = new List<Step>();
        foreach (var raw in script ?? [])
        {
            var u = (uint)raw;
            t = t.AddSeconds((u >> 8) % 1800);
            var sensorIndex = (int)(u % (Home.All.Length + 2));
            if (sensorIndex >= Home.All.Length)
            {
                steps.Add(new Step(null, t));
                continue;
            }

            var sensor = Home.All[sensorIndex];
            SensorHealth? health = ((u >> 5) & 7) switch
            {
                0 => new SensorHealth { BatteryLow = true },
                1 => new SensorHealth { Tamper = true },
                2 => new SensorHealth { Offline = true },
                _ => null,
            };
            steps.Add(new Step(Home.Ev(sensor, ((u >> 4) & 1) == 0, t, health), t));
        }

        return steps;
    }

    private static List<AlarmRequest> Run(RuleEngine engine, List<Step> steps, List<SensorEvent>? seen = null)
    {
        var alarms = new List<AlarmRequest>();
        foreach (var step in steps)
        {
            while (engine.NextDue is { } due && due < step.At)
            {
                alarms.AddRange(engine.OnTime(due));
            }

            if (step.Event is { } e)
            {
                seen?.Add(e);
                alarms.AddRange(engine.OnEvent(e));
            }
            else
            {
                alarms.AddRange(engine.OnTime(step.At));
            }
        }

        return alarms;
    }

    [Property(MaxTest = 200)]
    public bool A_panic_press_always_yields_a_panic_alarm_in_the_same_evaluation(int start, int flags, int[] script)
    {
        var engine = Home.Engine(Profile(flags));
        var steps = Decode(start, script);
        Run(engine, steps);
        var at = (steps.Count > 0 ? steps[^1].At : Starts[0]).AddSeconds(1);

        engine.OnEvent(Home.Ev(Home.Panic, false, at));
        var alarms = engine.OnEvent(Home.Ev(Home.Panic, true, at.AddSeconds(1)));

        return alarms.Any(a => a is { Type: AlarmType.Panic, SensorId: "panic-1", State: AlarmState.Raised } && a.At == at.AddSeconds(1))
            && !engine.IsAway;
    }

    [Property(MaxTest = 200)]
    public bool No_wandering_alarm_without_an_outer_door_opening_inside_the_night_window_before_it(int start, int flags, int[] script)
    {
        var profile = Profile(flags);
        var engine = Home.Engine(profile);
        var seen = new List<SensorEvent>();
        var alarms = Run(engine, Decode(start, script), seen);

        // (Wandering alarms without a sensor are the away-too-long report, which the away state explains.)
        return alarms.Where(a => a is { Type: AlarmType.Wandering, SensorId: not null }).All(a => seen.Any(e =>
            e.SensorId == Home.FrontDoor.Id && e.Active && e.At <= a.At
            && profile.NightWindow.Contains(TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(e.At, Home.Oslo).DateTime))));
    }

    [Property(MaxTest = 200)]
    public bool Every_held_alarm_is_eventually_either_cancelled_locally_or_sent_exactly_once(int start, int flags, int[] script)
    {
        var signal = new RecordingSignal();
        var engine = Home.Engine(Profile(flags | 2048), signal);
        var steps = Decode(start, script);
        var alarms = Run(engine, steps);
        var end = (steps.Count > 0 ? steps[^1].At : Starts[0]).AddDays(3);
        for (var i = 0; engine.NextDue is { } due && (due <= end || engine.Held.Count > 0); i++)
        {
            if (i > 10_000)
            {
                return false; // the engine would spin
            }

            alarms.AddRange(engine.OnTime(due));
        }

        return engine.Held.Count == 0
            && signal.Started.Count == signal.Ended.Count
            && signal.Started.All(s => alarms.Count(a => a.Type == s.Alarm.Type && a.SensorId == s.Alarm.SensorId && a.At == s.Alarm.At) == 1)
            && signal.Ended.All(x => x.Cancelled == (x.Alarm.State == AlarmState.Cancelled));
    }

    [Property(MaxTest = 100)]
    public bool A_restored_snapshot_behaves_like_the_engine_it_was_taken_from(int start, int flags, int[] script, int[] more)
    {
        var profile = Profile(flags);
        var original = Home.Engine(profile);
        var steps = Decode(start, script);
        Run(original, steps);
        var copy = Home.Engine(profile);
        copy.Restore(RuleSnapshot.FromJson(original.Snapshot().ToJson())!);

        var next = Decode(start, more).Select(s => s with { At = s.At + ((steps.Count > 0 ? steps[^1].At : s.At) - Starts[0]).Duration() }).ToList();
        var a = Run(original, next);
        var b = Run(copy, next);
        return a.SequenceEqual(b) && original.NextDue == copy.NextDue;
    }
}
