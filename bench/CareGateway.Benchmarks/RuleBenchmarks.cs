using BenchmarkDotNet.Attributes;
using CareGateway.Core;
using CareGateway.Sensors;

namespace CareGateway.Benchmarks;

/// <summary>Evaluating the rules for one sensor event: a night with door, motion and panic events.</summary>
[MemoryDiagnoser]
public class RuleBenchmarks
{
    private static readonly SensorDefinition Door = new() { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", OuterDoor = true };
    private static readonly SensorDefinition Motion = new() { Id = "pir-hall", Kind = SensorKind.Motion, Room = "hallway" };
    private static readonly SensorDefinition Panic = new() { Id = "panic-1", Kind = SensorKind.Panic, Room = "bedroom" };
    private RuleEngine _engine = null!;
    private SensorEvent[] _events = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _engine = new RuleEngine(new CareProfile(), [Door, Motion, Panic]);
        var t = new DateTimeOffset(2026, 11, 24, 1, 14, 0, TimeSpan.Zero);
        _events =
        [
            new(Door.Id, Door.Kind, Door.Room, true, t),
            new(Door.Id, Door.Kind, Door.Room, false, t.AddSeconds(20)),
            new(Motion.Id, Motion.Kind, Motion.Room, true, t.AddSeconds(40)),
            new(Motion.Id, Motion.Kind, Motion.Room, false, t.AddSeconds(70)),
            new(Panic.Id, Panic.Kind, Panic.Room, true, t.AddSeconds(80)),
            new(Panic.Id, Panic.Kind, Panic.Room, false, t.AddSeconds(81)),
        ];
    }

    [Benchmark]
    public int EvaluateOneEvent()
    {
        var e = _events[_next++ % _events.Length];
        return _engine.OnEvent(e).Count;
    }
}
