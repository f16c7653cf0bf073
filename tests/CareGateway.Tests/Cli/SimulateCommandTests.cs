using System.Device.Gpio;
using CareGateway.Cli;
using CareGateway.Hardware;
using Microsoft.Extensions.Logging.Abstractions;

namespace CareGateway.Tests.Cli;

/// <summary><c>care-gateway simulate</c>: refusals before anything is sent, and the socket of a gateway on the simulated board.</summary>
public class SimulateCommandTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private const string Sensors = """
        [
          { "id": "panic-bed", "kind": "panic", "room": "bedroom", "gpio": { "headerPin": 13, "pull": "up", "wiring": "normally-open" } },
          { "id": "door-front", "kind": "door", "room": "hallway", "gpio": { "headerPin": 11, "pull": "up", "wiring": "normally-closed" } },
          { "id": "sos-z", "kind": "panic", "room": "bedroom", "zigbee": { "device": "sos-z" } }
        ]
        """;

    private static Task<(int Code, string Output)> Simulate(string configPath, string verb, string sensor, bool json = false) =>
        CliTestKit.RunAsync(configPath, (c, p) => SimulateCommand.RunAsync(verb, sensor, p, c, CancellationToken.None).WaitAsync(Bound), json);

    [Fact]
    public async Task Press_drives_the_sensors_line_to_its_active_level_on_the_running_gateways_simulated_board()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, Sensors);
        var config = ConfigLoader.Load(configPath);
        var board = new SimulatedBoard();
        using var gpio = new GpioController(board);
        board.SetInput(27, PinValue.High); // the button at rest on its pull-up
        await using var server = SimulatedInputServer.Start(SimulatedInputServer.SocketPath(config.DataDirectory), board, config.Sensors, NullLogger.Instance);
        Assert.NotNull(server);

        var (pressed, said) = await Simulate(configPath, "press", "panic-bed");
        var levelPressed = board.Level(27);
        var (again, againSaid) = await Simulate(configPath, "press", "panic-bed", json: true);
        var (released, _) = await Simulate(configPath, "release", "panic-bed");
        var (opened, _) = await Simulate(configPath, "open", "door-front");

        Assert.True(pressed == ExitCodes.Ok, said);
        Assert.Contains("Pressed panic-bed (panic, bedroom) on the running gateway: GPIO 27 is low", said, StringComparison.Ordinal);
        Assert.Contains("'care-gateway simulate release panic-bed'", said, StringComparison.Ordinal);
        Assert.Equal(PinValue.Low, levelPressed);
        Assert.Equal(ExitCodes.Ok, again);
        Assert.False(CliTestKit.ParseJson(againSaid).GetProperty("changed").GetBoolean());
        Assert.Equal(ExitCodes.Ok, released);
        Assert.Equal(PinValue.High, board.Level(27));
        Assert.Equal(ExitCodes.Ok, opened);
        Assert.Equal(PinValue.High, board.Level(17)); // a normally-closed door contact on a pull-up reads high when open
    }

    [Fact]
    public async Task A_real_board_is_refused_with_a_sentence_and_exit_2()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, Sensors);
        await File.WriteAllTextAsync(configPath, (await File.ReadAllTextAsync(configPath)).Replace("\"driver\": \"simulated\"", "\"driver\": \"libgpiod\"", StringComparison.Ordinal));

        var (code, output) = await Simulate(configPath, "press", "panic-bed");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("real board", output, StringComparison.Ordinal);
        Assert.Contains("never fakes a real sensor", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_sensor_exits_2_with_did_you_mean()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, Sensors);

        var (code, output) = await Simulate(configPath, "press", "panic-bd");

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("There is no sensor 'panic-bd'. Did you mean 'panic-bed'?", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_zigbee_sensor_or_an_action_that_does_not_fit_the_kind_exits_2_naming_what_to_use()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, Sensors);

        var (zigbee, zigbeeSaid) = await Simulate(configPath, "press", "sos-z");
        var (misfit, misfitSaid) = await Simulate(configPath, "open", "panic-bed");

        Assert.Equal(ExitCodes.BadInput, zigbee);
        Assert.Contains("'sos-z' is a Zigbee sensor", zigbeeSaid, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, misfit);
        Assert.Contains("'care-gateway simulate press panic-bed'", misfitSaid, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_running_gateway_it_says_so_and_exits_1()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, Sensors);

        var (code, output) = await Simulate(configPath, "press", "panic-bed");

        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.Contains("No running gateway answers at", output, StringComparison.Ordinal);
        Assert.Contains("care-gateway run --config", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_line_has_each_action_and_a_misspelt_one_gets_did_you_mean()
    {
        using var writer = new StringWriter();
        var code = await GatewayCommandLine.InvokeAsync(["simulate", "prss", "panic-bed"], CliContext.ForWriter(writer));

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("Did you mean 'press'?", writer.ToString(), StringComparison.Ordinal);
        Assert.Equal(["press", "release", "open", "close", "trip", "clear"], GatewayCommandLine.Create().Subcommands.Single(c => c.Name == "simulate").Subcommands.Select(c => c.Name));
    }
}
