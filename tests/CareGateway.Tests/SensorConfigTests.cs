using CareGateway.Hardware;
using CareGateway.Sensors;

namespace CareGateway.Tests;

public class SensorConfigTests
{
    [Fact]
    public void The_documented_sensor_example_declares_gpio_and_zigbee_sensors_of_every_kind()
    {
        var config = ConfigLoader.Load(RepoFiles.PathOf("docs", "examples", "gateway-sensors.json"));

        Assert.Equal(BoardModel.RaspberryPi5, config.Board.EffectiveModel());
        Assert.Equal("zigbee2mqtt", config.Zigbee!.BaseTopic);
        SensorKind[] kinds = [SensorKind.Door, SensorKind.Panic, SensorKind.Bed, SensorKind.Fall, SensorKind.CancelButton, SensorKind.Motion, SensorKind.Smoke, SensorKind.Water, SensorKind.Presence];
        Assert.All(kinds, k => Assert.Contains(config.Sensors, s => s.Kind == k));
        Assert.Contains(config.Sensors, s => s.Gpio is not null);
        Assert.Contains(config.Sensors, s => s.Zigbee is not null);
        Assert.Equal(20000, config.Sensors.Single(s => s.Id == "bed-main").Gpio!.SettleMs);
        Assert.Equal(2, config.Board.Leds.Count);
    }

    [Theory]
    [InlineData("""{ "id": "z-1", "kind": "smoke", "room": "kitchen", "zigbee": { "device": "kitchen/smoke/" } }""", "$.sensors[0].zigbee.device: sensor 'z-1' names 'kitchen/smoke/'")]
    [InlineData("""{ "id": "z-1", "kind": "smoke", "room": "kitchen", "zigbee": { "device": "kitchen/#" } }""", "no MQTT wildcards")]
    [InlineData("""{ "id": "z-1", "kind": "power-fail", "room": "kitchen", "zigbee": { "device": "ups" } }""", "$.sensors[0].kind: sensor 'z-1' is PowerFail, which no zigbee2mqtt property maps to")]
    [InlineData("""{ "id": "z-1", "kind": "smoke", "room": "kitchen", "zigbee": { "device": "a" }, "gpio": { "line": 17 } }""", "has both a 'gpio' and a 'zigbee' section")]
    [InlineData("""{ "id": "z-1", "kind": "smoke", "room": "kitchen", "zigbee": { "device": "a" } }, { "id": "z-2", "kind": "smoke", "room": "kitchen", "zigbee": { "device": "a" } }""", "$.sensors[1].zigbee.device: sensor 'z-2' reads Smoke from device 'a', as sensor 'z-1' already does")]
    [InlineData("""{ "id": "z-1", "kind": "smoke", "room": "kitchen", "zigbee": { "device": "a" }, "supervisionMinutes": 0 }""", "$.sensors[0].supervisionMinutes")]
    public void A_bad_zigbee_sensor_is_a_clear_error(string sensors, string expected)
    {
        var json = $$"""
            {
              "gatewayId": "gw-1", "dataDirectory": "/tmp/x",
              "broker": { "host": "127.0.0.1", "port": 1883 },
              "board": { "driver": "simulated" },
              "zigbee": { "broker": { "host": "127.0.0.1" } },
              "sensors": [ {{sensors}} ]
            }
            """;

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "test.json"));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zigbee_sensors_without_a_zigbee_section_are_an_error()
    {
        var json = """
            { "gatewayId": "gw-1", "dataDirectory": "/tmp/x", "broker": { "host": "127.0.0.1", "port": 1883 }, "board": { "driver": "simulated" },
              "sensors": [ { "id": "z-1", "kind": "smoke", "room": "kitchen", "zigbee": { "device": "a" } } ] }
            """;

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "test.json"));

        Assert.Contains("$.zigbee: Zigbee sensors are declared but there is no 'zigbee' section", ex.Message, StringComparison.Ordinal);
    }
}
