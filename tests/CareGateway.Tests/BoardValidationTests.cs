using CareGateway.Hardware;
using CareGateway.Sensors;

namespace CareGateway.Tests;

public class BoardValidationTests
{
    private static string Config(string sensors, string board = "\"driver\": \"libgpiod\", \"model\": \"rpi4\"") => $$"""
        {
          "gatewayId": "gw-1",
          "dataDirectory": "/tmp/x",
          "broker": { "host": "127.0.0.1", "port": 1883 },
          "board": { {{board}} },
          "sensors": [ {{sensors}} ]
        }
        """;

    private static ConfigException Invalid(string json) => Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json, "test.json"));

    [Theory]
    [InlineData(BoardModel.RaspberryPi3)]
    [InlineData(BoardModel.RaspberryPi4)]
    [InlineData(BoardModel.RaspberryPi5)]
    [InlineData(BoardModel.RaspberryPiZero2W)]
    [InlineData(BoardModel.ComputeModule4)]
    public void Every_header_gpio_pin_maps_to_its_bcm_line(BoardModel model)
    {
        _ = BoardProfile.For(model);
        Assert.Equal(17, BoardProfile.Pin(11)!.Line);
        Assert.Equal(2, BoardProfile.Pin(3)!.Line);
        Assert.Equal(21, BoardProfile.Pin(40)!.Line);
        Assert.Equal(26, BoardProfile.Pin(37)!.Line);
        Assert.Equal(HeaderPinUse.Ground, BoardProfile.Pin(6)!.Use);
        Assert.Equal(HeaderPinUse.Power3V3, BoardProfile.Pin(17)!.Use);
        Assert.Null(BoardProfile.Pin(41));

        // 26 GPIO pins on the header bring out exactly GPIO 0-27 minus none twice.
        var lines = Enumerable.Range(1, 40).Select(BoardProfile.Pin).Where(p => p!.Line is not null).Select(p => p!.Line!.Value).ToList();
        Assert.Equal(28, lines.Count);
        Assert.Equal(Enumerable.Range(0, 28), lines.Order());
    }

    [Fact]
    public void A_pi_5_finds_the_rp1_chip_by_its_line_count_and_others_use_gpiochip0()
    {
        (int, int)[] oldKernel = [(0, 32), (1, 4), (2, 17), (3, 6), (4, 54)];
        (int, int)[] newKernel = [(0, 54), (10, 32), (11, 4), (12, 17), (13, 6)];

        Assert.Equal(4, BoardProfile.For(BoardModel.RaspberryPi5).ChooseChip(null, oldKernel));
        Assert.Equal(0, BoardProfile.For(BoardModel.RaspberryPi5).ChooseChip(null, newKernel));
        Assert.Equal(7, BoardProfile.For(BoardModel.RaspberryPi5).ChooseChip(7, oldKernel));
        Assert.Equal(0, BoardProfile.For(BoardModel.RaspberryPi4).ChooseChip(null, []));
        Assert.Equal(0, BoardProfile.For(BoardModel.RaspberryPiZero2W).ChooseChip(null, []));
        var ex = Assert.Throws<InvalidOperationException>(() => BoardProfile.For(BoardModel.RaspberryPi5).ChooseChip(null, [(0, 58)]));
        Assert.Contains("54 lines", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reserved_header_pin_names_the_sensor_the_pin_and_the_bus()
    {
        var ex = Invalid(Config("""
            { "id": "door-1", "kind": "door", "room": "hallway", "gpio": { "line": 17 } },
            { "id": "door-2", "kind": "door", "room": "kitchen", "gpio": { "line": 22 } },
            { "id": "panic-1", "kind": "panic", "room": "bedroom", "gpio": { "headerPin": 3 } }
            """));

        Assert.Contains("$.sensors[2].gpio.headerPin: sensor 'panic-1' uses header pin 3 (GPIO 2), reserved for I2C SDA", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"line\": 14", "$.sensors[0].gpio.line: sensor 'door-1' uses GPIO 14 (header pin 8), reserved for UART TXD")]
    [InlineData("\"line\": 9", "$.sensors[0].gpio.line: sensor 'door-1' uses GPIO 9 (header pin 21), reserved for SPI0 MISO")]
    [InlineData("\"line\": 0", "reserved for HAT ID EEPROM data")]
    [InlineData("\"line\": 30", "$.sensors[0].gpio.line: sensor 'door-1' names GPIO 30, which does not exist on the header")]
    [InlineData("\"headerPin\": 6", "$.sensors[0].gpio.headerPin: sensor 'door-1' names header pin 6, which is ground, not a GPIO")]
    [InlineData("\"headerPin\": 1", "header pin 1, which is 3.3 V power")]
    [InlineData("\"headerPin\": 41", "$.sensors[0].gpio.headerPin: sensor 'door-1' names header pin 41, which does not exist")]
    [InlineData("\"line\": 17, \"headerPin\": 12", "$.sensors[0].gpio: sensor 'door-1' gives line 17 and header pin 12, which disagree")]
    [InlineData("\"pull\": \"up\"", "$.sensors[0].gpio: sensor 'door-1' needs 'line' (GPIO number) or 'headerPin'")]
    [InlineData("\"line\": 17, \"wiring\": \"normally-closed\"", "$.sensors[0].gpio.pull: sensor 'door-1' is wired normally-closed; a contact needs")]
    [InlineData("\"line\": 17, \"settleMs\": 3000", "$.sensors[0].gpio.settleMs: only a bed mat has a settle time")]
    public void A_bad_pin_is_a_clear_error(string gpio, string expected)
    {
        var ex = Invalid(Config($$"""{ "id": "door-1", "kind": "door", "room": "hallway", "gpio": { {{gpio}} } }"""));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pin_used_twice_by_header_pin_and_line_names_both_users()
    {
        var ex = Invalid(Config(
            """
            { "id": "door-1", "kind": "door", "room": "hallway", "gpio": { "line": 17 } },
            { "id": "bed-1", "kind": "bed", "room": "bedroom", "gpio": { "headerPin": 11 } }
            """,
            "\"driver\": \"libgpiod\", \"model\": \"rpi5\", \"buzzer\": { \"headerPin\": 11 }"));

        Assert.Contains("$.sensors[1].gpio.headerPin: sensor 'bed-1' uses GPIO 17, already used by sensor 'door-1'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("$.board.buzzer.headerPin: the buzzer uses GPIO 17, already used by sensor 'door-1'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_freed_bus_lets_its_pins_be_used_and_header_pins_resolve()
    {
        var config = ConfigLoader.Parse(
            Config(
                """{ "id": "door-1", "kind": "door", "room": "hallway", "gpio": { "headerPin": 8, "pull": "up", "wiring": "normally-closed" } }""",
                "\"driver\": \"libgpiod\", \"model\": \"zero2w\", \"freeBuses\": [\"uart\"], \"leds\": [ { \"name\": \"red\", \"headerPin\": 40 } ]"),
            "test.json");

        Assert.Equal(BoardModel.RaspberryPiZero2W, config.Board.EffectiveModel());
        Assert.Equal(14, SensorConfigValidation.ResolveLine(config.Sensors[0].Gpio!.Line, config.Sensors[0].Gpio!.HeaderPin));
        Assert.Equal(ContactWiring.NormallyClosed, config.Sensors[0].Gpio!.Wiring);
        Assert.Equal(21, SensorConfigValidation.ResolveLine(config.Board.Leds[0].Line, config.Board.Leds[0].HeaderPin));
    }

    [Fact]
    public void An_unknown_board_model_is_reported_with_its_path()
    {
        var ex = Invalid(Config("""{ "id": "door-1", "kind": "door", "room": "hallway", "gpio": { "line": 17 } }""", "\"model\": \"rpi9\""));

        Assert.Contains("$.board.model", ex.Message, StringComparison.Ordinal);
    }
}
