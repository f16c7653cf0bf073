using System.Device.Gpio;
using CareGateway.Cli;
using CareGateway.Hardware;
using CareGateway.Sensors;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests.Cli;

public class SensorsCommandTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_wired_sensor_is_added_by_header_pin_and_listed()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir);

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = "door-front", Kind = "door", Room = "hallway", HeaderPin = 11, Wiring = ContactWiring.NormallyClosed, OuterDoor = true }, p, c, CancellationToken.None));

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("header pin 11 (GPIO 17)", output, StringComparison.Ordinal);
        var sensor = Assert.Single(ConfigLoader.Load(configPath).Sensors);
        Assert.Equal(11, sensor.Gpio!.HeaderPin);
        Assert.True(sensor.OuterDoor);

        var (listed, json) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.ListAsync(p, c), json: true);

        Assert.Equal(ExitCodes.Ok, listed);
        var only = Assert.Single(CliTestKit.ParseJson(json).GetProperty("sensors").EnumerateArray());
        Assert.Equal(17, only.GetProperty("line").GetInt32());
        Assert.Equal("gpio", only.GetProperty("source").GetString());
    }

    [Fact]
    public async Task A_pin_the_board_reserves_or_another_sensor_uses_is_refused_with_its_path_and_the_file_is_kept()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, """[{ "id": "door-front", "kind": "door", "room": "hall", "gpio": { "headerPin": 11 } }]""");
        var before = await File.ReadAllTextAsync(configPath);

        var (reserved, why) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = "panic-1", Kind = "panic", Room = "bedroom", HeaderPin = 3 }, p, c, CancellationToken.None), json: true);
        var (taken, said) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = "bed-1", Kind = "bed", Room = "bedroom", HeaderPin = 11 }, p, c, CancellationToken.None));
        var (power, _) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = "bed-1", Kind = "bed", Room = "bedroom", HeaderPin = 2 }, p, c, CancellationToken.None));
        var (badKind, kindSaid) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = "x-1", Kind = "toaster", Room = "kitchen", HeaderPin = 13 }, p, c, CancellationToken.None));

        Assert.Equal(ExitCodes.BadInput, reserved);
        var detail = Assert.Single(CliTestKit.ParseJson(why).GetProperty("details").EnumerateArray()).GetString();
        Assert.StartsWith("$.sensors[1].gpio.headerPin:", detail, StringComparison.Ordinal);
        Assert.Contains("I2C", detail, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, taken);
        Assert.Contains("already used by sensor 'door-front'", said, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, power);
        Assert.Equal(ExitCodes.BadInput, badKind);
        Assert.Contains("door", kindSaid, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(configPath));
    }

    [Fact]
    public async Task Remove_takes_the_sensor_out_and_an_unknown_id_lists_the_known_ones()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, """[{ "id": "door-front", "kind": "door", "room": "hall", "gpio": { "headerPin": 11 } }, { "id": "bed-1", "kind": "bed", "room": "bedroom", "gpio": { "headerPin": 13 } }]""");

        var (unknown, said) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.RemoveAsync("door-back", p, c));
        var (code, _) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.RemoveAsync("door-front", p, c));

        Assert.Equal(ExitCodes.BadInput, unknown);
        Assert.Contains("door-front, bed-1", said, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("bed-1", Assert.Single(ConfigLoader.Load(configPath).Sensors).Id);
    }

    [Fact]
    public async Task A_missing_configuration_says_to_run_init()
    {
        using var dir = new TempDir();

        var (code, output) = await CliTestKit.RunAsync(dir.File("none.json"), (c, p) => SensorsCommand.ListAsync(p, c));

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("care-gateway init", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_shows_each_triggered_wired_sensor_as_seen_and_fails_for_one_that_is_not_triggered()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, """
            [{ "id": "door-front", "kind": "door", "room": "hall", "gpio": { "headerPin": 11, "pull": "down", "debounceMs": 0 } },
             { "id": "panic-1", "kind": "panic", "room": "bedroom", "gpio": { "headerPin": 13, "pull": "down", "debounceMs": 0 } }]
            """);
        var board = new SimulatedBoard();
        using var gpio = new GpioController(board);
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);

        // The technician opens the door when asked; the panic button is never pressed, and its minute passes.
        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.TestAsync([], TimeSpan.FromMinutes(1), p, c, gpio, s =>
        {
            if (s.Id == "door-front")
            {
                board.SetInput(17, PinValue.High);
            }
            else
            {
                time.Advance(TimeSpan.FromMinutes(1));
            }
        }, CancellationToken.None).WaitAsync(Bound), json: true, time: time);
        var results = CliTestKit.ParseJson(output).GetProperty("sensors").EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("seen").GetBoolean());

        Assert.True(results["door-front"]);
        Assert.False(results["panic-1"]);
        Assert.Equal(ExitCodes.CheckFailed, code);
    }
}
