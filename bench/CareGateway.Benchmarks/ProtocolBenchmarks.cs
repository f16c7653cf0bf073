using BenchmarkDotNet.Attributes;
using CareGateway.Protocol;

namespace CareGateway.Benchmarks;

/// <summary>Serializing an alarm (every send) and parsing an acknowledgement (every answer from the centre).</summary>
[MemoryDiagnoser]
public class ProtocolBenchmarks
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 19, 0, TimeSpan.Zero);
    private readonly AlarmMessage _alarm = new()
    {
        AlarmId = Guid.CreateVersion7(T0).ToString(),
        GatewayId = "gw-0042",
        Seq = 17,
        Type = AlarmType.Wandering,
        Priority = AlarmPriority.High,
        VkpCode = "4.21",
        Triage = Triage.Orange,
        State = AlarmState.Raised,
        SensorId = "door-front",
        Room = "hallway",
        RaisedAt = T0,
        SentAt = T0,
        Attempt = 1,
        Reason = "Outer door opened at 02:14 in the night window 22:00-06:00; nobody seen back inside within 5 min",
    };

    private byte[] _ack = [];

    [GlobalSetup]
    public void Setup() => _ack = ProtocolJson.Serialize(new AckMessage { AlarmId = _alarm.AlarmId, GatewayId = "gw-0042", State = AckState.Received, By = "centre-1", At = T0 });

    [Benchmark]
    public byte[] SerializeAlarm() => ProtocolJson.Serialize(_alarm);

    [Benchmark]
    public bool ParseAck() => ProtocolJson.TryParseAck(_ack, out _, out _);
}
