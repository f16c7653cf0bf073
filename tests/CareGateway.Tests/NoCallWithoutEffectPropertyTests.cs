using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Uplink;
using FsCheck.Xunit;

namespace CareGateway.Tests;

/// <summary>
/// Issue 13: no press, fall, smoke or water event is ever without effect at the centre, whatever the state of the home.
/// Random sequences of home states (away on/off, visitor on/off, a pre-alarm of another type held, an open alarm of the
/// same type: received, accepted or closed) are run through the real rules, <see cref="AlarmRaiser"/> and the real
/// <see cref="SqliteOutbox"/>; then the event must reach the outbox as a new alarm or as a repeat of the open one.
/// FsCheck prints the seed (and the shrunk inputs) of a failing case; rerun it with <c>[Property(Replay = "...")]</c>.
/// </summary>
public class NoCallWithoutEffectPropertyTests
{
    private static readonly SensorDefinition Water = new() { Id = "water-1", Kind = SensorKind.Water, Room = "kitchen" };
    private static readonly SensorDefinition VisitorButton = new() { Id = "visitor-1", Kind = SensorKind.VisitorButton, Room = "hallway" };
    private static readonly SensorDefinition[] Sensors = [.. Home.All, Water, VisitorButton];
    private static readonly SensorDefinition[] Calls = [Home.Panic, Home.Fall, Home.Smoke, Water];
    private static readonly DateTimeOffset[] Starts = [Home.At(11, 24, 21, 50), Home.At(6, 1, 9, 0), Home.Utc(3, 28, 23, 30)];

    private static CareProfile Profile(int flags) => new()
    {
        BathroomStay = new BathroomStayRule { MaxMinutes = 5 },
        Away = new AwayRule { AutoAfterMinutes = (flags & 1) != 0 ? 10 : null },
        Visitor = new VisitorRule { MaxMinutes = 30 },
        PreAlarm = new PreAlarmRule
        {
            Enabled = true,
            CancelWindowSeconds = 60,
            FallGuardSeconds = (flags & 2) != 0 ? 15 : 0,
            CancellableTypes = (flags & 2) != 0 ? [AlarmType.BathroomStay, AlarmType.Fall] : [AlarmType.BathroomStay],
        },
    };

    [Property(MaxTest = 60)]
    public bool A_press_fall_smoke_or_water_event_always_reaches_the_outbox_as_an_alarm_or_a_repeat(int flags, int[] script)
    {
        using var dir = new TempDir();
        using var outbox = new SqliteOutbox(dir.File("outbox.db"));
        var profile = Profile(flags);
        var engine = new RuleEngine(profile, Sensors);
        var raiser = new AlarmRaiser(outbox, () => profile);
        var call = Calls[(int)((uint)flags >> 2) % Calls.Length];
        var effects = new List<string>();
        raiser.Stored += (a, _) => effects.Add($"stored {a.Type} {a.SensorId} {a.AlarmId}");
        raiser.Repeated += (r, repeat) => effects.Add($"repeat {r.Type} {r.SensorId} {repeat.AlarmId} {repeat.Repeats}");

        var t = Starts[(int)((uint)flags >> 4) % Starts.Length];
        foreach (var raw in script ?? [])
        {
            var u = (uint)raw;
            t = Run(engine, raiser, t, t.AddSeconds((u >> 3) % 900));
            switch (u % 8)
            {
                case 0: Raise(raiser, engine.SetAway(true, t, "centre")); break;
                case 1: Raise(raiser, engine.SetAway(false, t, "centre")); break;
                case 2: Raise(raiser, engine.SetVisitor(true, t, "centre")); break;
                case 3: Raise(raiser, engine.SetVisitor(false, t, "centre")); break;
                case 4:
                    // Into the bathroom and nowhere else: a bathroom-stay pre-alarm held after 5 minutes (unless paused).
                    Raise(raiser, engine.OnEvent(Home.Ev(Home.BathMotion, true, t)));
                    Raise(raiser, engine.OnEvent(Home.Ev(Home.BathMotion, false, t.AddSeconds(5))));
                    t = Run(engine, raiser, t.AddSeconds(5), t.AddMinutes(5).AddSeconds(10));
                    break;
                case 5: Raise(raiser, engine.Press(call, t)); t = t.AddSeconds(1); break;
                case 6: Ack(outbox, call, AckState.Accepted, t); break;
                default: Ack(outbox, call, (u & 8) != 0 ? AckState.Closed : AckState.Received, t); break;
            }
        }

        var at = t.AddSeconds(2);
        Raise(raiser, engine.OnEvent(Home.Ev(call, false, at)));
        var before = effects.Count;
        Raise(raiser, engine.OnEvent(Home.Ev(call, true, at.AddSeconds(1))));
        Run(engine, raiser, at.AddSeconds(1), at.AddSeconds(30)); // a fall held by the fall guard goes within 15 s

        var type = AlarmCatalog.Get(call.Kind switch
        {
            SensorKind.Panic => AlarmType.Panic,
            SensorKind.Fall => AlarmType.Fall,
            SensorKind.Smoke => AlarmType.Smoke,
            _ => AlarmType.Water,
        }).Type;
        var effect = effects.Skip(before).FirstOrDefault(x => x.StartsWith($"stored {type} {call.Id}", StringComparison.Ordinal) || x.StartsWith($"repeat {type} {call.Id}", StringComparison.Ordinal));
        if (effect is null)
        {
            return false;
        }

        // And it is durable: the new alarm is in the outbox (a fall held by the fall guard goes at once, with its first
        // time), or the open one counts one more repeat.
        var rows = outbox.All().Where(a => a.Alarm.Type == type && a.Alarm.SensorId == call.Id).ToList();
        return effect.StartsWith("stored", StringComparison.Ordinal)
            ? rows.Any(r => r.Alarm.AlarmId == effect.Split(' ')[3])
            : rows.Any(r => r.Alarm.AlarmId == effect.Split(' ')[3] && r.Repeats == int.Parse(effect.Split(' ')[4], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void Raise(AlarmRaiser raiser, IReadOnlyList<AlarmRequest> alarms)
    {
        if (alarms.Count > 0)
        {
            raiser.RaiseUnlessOpenAsync(alarms, CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    /// <summary>Runs the rules' timers from <paramref name="from"/> to <paramref name="to"/>, storing what they raise.</summary>
    private static DateTimeOffset Run(RuleEngine engine, AlarmRaiser raiser, DateTimeOffset from, DateTimeOffset to)
    {
        while (engine.NextDue is { } due && due <= to)
        {
            Raise(raiser, engine.OnTime(due > from ? due : from));
            if (due <= from)
            {
                break;
            }
        }

        Raise(raiser, engine.OnTime(to));
        return to;
    }

    /// <summary>The centre answers for every alarm of the call's sensor that is not closed yet.</summary>
    private static void Ack(SqliteOutbox outbox, SensorDefinition call, AckState state, DateTimeOffset at)
    {
        foreach (var a in outbox.All().Where(a => a.Alarm.SensorId == call.Id && a.Ack != AckState.Closed))
        {
            outbox.ApplyAck(new AckMessage { AlarmId = a.Alarm.AlarmId, GatewayId = "gw-1", State = state, By = "op-1", At = at });
        }
    }
}
