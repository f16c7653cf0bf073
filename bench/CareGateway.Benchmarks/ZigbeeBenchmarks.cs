using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using CareGateway.Sensors;
using CareGateway.Sensors.Zigbee;
using Microsoft.Extensions.Logging.Abstractions;

namespace CareGateway.Benchmarks;

/// <summary>
/// The Zigbee front of the hot path: parsing one zigbee2mqtt device message (JSON) and normalizing it into sensor
/// events with the mapper (parse, property map by sensor kind, transition tracking). Payloads are the shapes the
/// fixtures in tests/fixtures/zigbee2mqtt record for an SOS button and a smoke detector.
/// </summary>
[MemoryDiagnoser]
public class ZigbeeBenchmarks
{
    private const string SosTopic = "zigbee2mqtt/bedroom/sos";
    private const string SmokeTopic = "zigbee2mqtt/kitchen/smoke";
    private static readonly byte[] SosPress = Encoding.UTF8.GetBytes("""{"action":"emergency","battery":80,"linkquality":138,"voltage":2900}""");
    private static readonly byte[] SmokeOn = Encoding.UTF8.GetBytes("""{"smoke":true,"battery":100,"battery_low":false,"tamper":false,"linkquality":120}""");
    private static readonly byte[] SmokeOff = Encoding.UTF8.GetBytes("""{"smoke":false,"battery":100,"battery_low":false,"tamper":false,"linkquality":120}""");
    private Zigbee2MqttMapper _mapper = null!;
    private int _n;

    [GlobalSetup]
    public void Setup()
    {
        SensorDefinition[] sensors =
        [
            new() { Id = "panic-bedroom", Kind = SensorKind.Panic, Room = "bedroom", Zigbee = new ZigbeeSensorOptions { Device = "bedroom/sos" } },
            new() { Id = "smoke-kitchen", Kind = SensorKind.Smoke, Room = "kitchen", Zigbee = new ZigbeeSensorOptions { Device = "kitchen/smoke" } },
        ];
        _mapper = new Zigbee2MqttMapper("zigbee2mqtt", sensors, TimeProvider.System, NullLogger.Instance);
    }

    /// <summary>Only the JSON parse of a device message (what every message costs before any mapping).</summary>
    [Benchmark]
    public int ParseMessage()
    {
        using var doc = JsonDocument.Parse(SosPress);
        return doc.RootElement.GetPropertyCount();
    }

    /// <summary>A panic press: parse, map, and two events (pressed, released).</summary>
    [Benchmark]
    public int NormalizePanicPress() => _mapper.Handle(SosTopic, SosPress, retained: false).Count;

    /// <summary>A smoke detector alternating alarm and clear: each message is a state transition.</summary>
    [Benchmark]
    public int NormalizeSmokeTransition() => _mapper.Handle(SmokeTopic, (++_n & 1) == 0 ? SmokeOn : SmokeOff, retained: false).Count;
}
