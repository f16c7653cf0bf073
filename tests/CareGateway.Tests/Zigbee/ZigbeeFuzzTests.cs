using System.Text;
using CareGateway.Sensors;
using CareGateway.Sensors.Zigbee;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests.Zigbee;

/// <summary>Property-based: no input on any topic can make the mapper throw; bad input is counted, good input still works.</summary>
public class ZigbeeFuzzTests
{
    private static readonly string[] Topics =
    [
        "zigbee2mqtt/door", "zigbee2mqtt/door/availability", "zigbee2mqtt/bridge/state", "zigbee2mqtt/bridge/devices",
        "zigbee2mqtt/sos", "zigbee2mqtt/radar", "zigbee2mqtt/unknown/device", "zigbee2mqtt/door/set",
    ];

    private static Zigbee2MqttMapper NewMapper() => new(
        "zigbee2mqtt",
        [
            new SensorDefinition { Id = "door-1", Kind = SensorKind.Door, Room = "hall", Zigbee = new() { Device = "door" } },
            new SensorDefinition { Id = "panic-1", Kind = SensorKind.Panic, Room = "bed", Zigbee = new() { Device = "sos" } },
            new SensorDefinition { Id = "fall-1", Kind = SensorKind.Fall, Room = "bath", Zigbee = new() { Device = "radar" } },
        ],
        new FakeTimeProvider(),
        NullLogger.Instance);

    [Property(MaxTest = 300)]
    public void Random_bytes_on_any_topic_never_throw(byte[] payload, int topic, bool retained)
    {
        var mapper = NewMapper();

        var events = mapper.Handle(Topics[Math.Abs(topic % Topics.Length)], payload ?? [], retained);

        Assert.NotNull(events);
        Assert.All(events, e => Assert.Contains(e.SensorId, new[] { "door-1", "panic-1", "fall-1" }));
    }

    [Property(MaxTest = 300)]
    public void Random_json_values_for_known_properties_never_throw_and_good_input_still_works(string key, string text, int number, bool flag, int shape)
    {
        var mapper = NewMapper();
        var value = Math.Abs(shape % 6) switch
        {
            0 => System.Text.Json.JsonSerializer.Serialize(text ?? string.Empty),
            1 => number.ToString(System.Globalization.CultureInfo.InvariantCulture),
            2 => flag ? "true" : "false",
            3 => "null",
            4 => "[" + number.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]",
            _ => "{\"x\":" + System.Text.Json.JsonSerializer.Serialize(text ?? string.Empty) + "}",
        };
        string[] keys = ["contact", "battery", "battery_low", "tamper", "linkquality", "action", "fall_down_status", "last_seen", "state", key ?? "k"];
        var body = "{" + System.Text.Json.JsonSerializer.Serialize(keys[Math.Abs(number % keys.Length)]) + ":" + value + "}";

        foreach (var topic in Topics)
        {
            _ = mapper.Handle(topic, Encoding.UTF8.GetBytes(body), flag);
        }

        // Whatever happened before, a good message is still understood.
        var e = mapper.Handle("zigbee2mqtt/door", "{\"contact\":false}"u8, retained: false);
        Assert.Contains(e, x => x.SensorId == "door-1");
    }

    [Fact]
    public void Deeply_nested_json_is_rejected_not_a_stack_overflow()
    {
        var mapper = NewMapper();
        var deep = new string('[', 100_000) + new string(']', 100_000);

        Assert.Empty(mapper.Handle("zigbee2mqtt/door", Encoding.UTF8.GetBytes(deep), retained: false));
        Assert.Empty(mapper.Handle("zigbee2mqtt/bridge/devices", Encoding.UTF8.GetBytes(deep), retained: true));
        Assert.Equal(2, mapper.Rejected);
    }
}
