using CareGateway.Sensors;

namespace CareGateway.Tests;

public class ConfigTests
{
    private const string Minimal = """
        {
          "gatewayId": "gw-1",
          "dataDirectory": "/tmp/x",
          "broker": { "host": "127.0.0.1", "port": 1883 },
          "board": { "driver": "simulated" },
          "sensors": [
            { "id": "door-front", "kind": "door", "room": "hallway", "outerDoor": true, "gpio": { "line": 17 } }
          ]
        }
        """;

    [Fact]
    public void The_documented_example_configuration_is_valid()
    {
        var config = ConfigLoader.Load(RepoFiles.PathOf("docs", "examples", "gateway.json"));

        Assert.Equal("gw-0042", config.GatewayId);
        Assert.Equal(3, config.Sensors.Count);
        Assert.Equal(ActiveLevel.Low, config.Sensors[1].Gpio!.ActiveLevel);
        Assert.Equal("Europe/Oslo", ConfigLoader.ToProfile(config.CareProfile).TimeZone);
    }

    [Fact]
    public void Defaults_fill_in_what_a_minimal_configuration_leaves_out()
    {
        var config = ConfigLoader.Parse(Minimal, "minimal");
        var profile = ConfigLoader.ToProfile(config.CareProfile);

        Assert.Equal("Europe/Oslo", profile.TimeZone);
        Assert.Equal("22:00-06:00", profile.NightWindow.ToString());
        Assert.Equal(50, config.Sensors[0].Gpio!.DebounceMs);
    }

    [Theory]
    [InlineData("\"gatewayId\": \"gw-1\"", "\"gatewayId\": \"GW 1\"", "$.gatewayId")]
    [InlineData("\"port\": 1883", "\"port\": 70000", "$.broker.port")]
    [InlineData("\"kind\": \"door\"", "\"kind\": \"doorbell\"", "$.sensors[0].kind")]
    [InlineData("\"line\": 17", "\"line\": \"seventeen\"", "$.sensors[0].gpio.line")]
    [InlineData("\"line\": 17", "\"line\": 99", "$.sensors[0].gpio.line: sensor 'door-front' names GPIO 99")]
    [InlineData("\"room\": \"hallway\"", "\"room\": \"\"", "$.sensors[0].room")]
    [InlineData("\"board\":", "\"bored\": 1, \"board\":", "$.bored")]
    [InlineData("\"outerDoor\": true", "\"outerDoor\": true, \"countsAsResident\": false", "$.sensors[0].countsAsResident: only a motion or presence sensor")]
    public void A_bad_value_is_reported_with_its_path(string find, string replace, string expected)
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Minimal.Replace(find, replace, StringComparison.Ordinal), "test.json"));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("test.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gpio_line_used_twice_names_both_sensors()
    {
        var json = Minimal.Replace(
            "\"sensors\": [",
            "\"sensors\": [ { \"id\": \"panic-1\", \"kind\": \"panic\", \"room\": \"bedroom\", \"gpio\": { \"line\": 17 } },",
            StringComparison.Ordinal);

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "test.json"));

        Assert.Contains("$.sensors[1].gpio.line: sensor 'door-front' uses GPIO 17, already used by sensor 'panic-1'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_listed_not_just_the_first()
    {
        var json = Minimal
            .Replace("\"gatewayId\": \"gw-1\"", "\"gatewayId\": \"\"", StringComparison.Ordinal)
            .Replace("\"dataDirectory\": \"/tmp/x\"", "\"dataDirectory\": \"/tmp/x\", \"careProfile\": { \"timeZone\": \"Mars/Olympus\", \"nightWindow\": { \"start\": \"25:00\" } }", StringComparison.Ordinal);

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "test.json"));

        Assert.Contains(ex.Errors, e => e.StartsWith("$.gatewayId", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("$.careProfile.timeZone: 'Mars/Olympus'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("$.careProfile.nightWindow.start: '25:00'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_file_is_a_clear_error()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load("/nonexistent/gateway.json"));
        Assert.Contains("cannot read the file", ex.Message, StringComparison.Ordinal);
    }
}
