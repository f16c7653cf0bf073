using System.Device.Gpio;
using System.Text;
using CareGateway.Hardware;
using CareGateway.Protocol;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>The centre's set-away, set-home, set-visitor and end-visitor commands, through the real gateway composition and rule loop.</summary>
public class AwayCommandTests
{
    private const int DoorLine = 17;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Set_away_pauses_night_wandering_and_set_home_brings_it_back()
    {
        using var dir = new TempDir();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 1, 0, 0, TimeSpan.Zero)); // 02:00 in Oslo
        var board = new SimulatedBoard();
        board.SetInput(DoorLine, PinValue.Low);
        using var gpio = new GpioController(board);
        await using var gateway = new GatewayRuntime(Config(dir.Path), gpio, clock, NullLoggerFactory.Instance);
        using var stop = new CancellationTokenSource();
        var running = gateway.Rules.RunAsync(stop.Token);

        var away = await gateway.Executor.HandleAsync(Command("cmd-away", CommandKind.SetAway), CancellationToken.None);
        Assert.Equal(CommandStatus.Ok, away!.Status);
        await OpenAndCloseTheDoorAsync(board, clock, gateway);
        Assert.Empty(gateway.Outbox.All());

        var home = await gateway.Executor.HandleAsync(Command("cmd-home", CommandKind.SetHome), CancellationToken.None);
        Assert.Equal(CommandStatus.Ok, home!.Status);
        await OpenAndCloseTheDoorAsync(board, clock, gateway);
        Assert.Equal(AlarmType.Wandering, Assert.Single(gateway.Outbox.All()).Alarm.Type);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task Set_visitor_pauses_night_wandering_and_end_visitor_brings_it_back()
    {
        using var dir = new TempDir();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 1, 0, 0, TimeSpan.Zero)); // 02:00 in Oslo
        var board = new SimulatedBoard();
        board.SetInput(DoorLine, PinValue.Low);
        using var gpio = new GpioController(board);
        await using var gateway = new GatewayRuntime(Config(dir.Path), gpio, clock, NullLoggerFactory.Instance);
        using var stop = new CancellationTokenSource();
        var running = gateway.Rules.RunAsync(stop.Token);

        var visit = await gateway.Executor.HandleAsync(Command("cmd-visit", CommandKind.SetVisitor), CancellationToken.None);
        Assert.Equal(CommandStatus.Ok, visit!.Status);
        await OpenAndCloseTheDoorAsync(board, clock, gateway);
        Assert.Empty(gateway.Outbox.All());

        var over = await gateway.Executor.HandleAsync(Command("cmd-visit-over", CommandKind.EndVisitor), CancellationToken.None);
        Assert.Equal(CommandStatus.Ok, over!.Status);
        await OpenAndCloseTheDoorAsync(board, clock, gateway);
        Assert.Equal(AlarmType.Wandering, Assert.Single(gateway.Outbox.All()).Alarm.Type);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task A_repeated_set_away_is_answered_again_but_carried_out_once()
    {
        using var dir = new TempDir();
        using var gpio = new GpioController(new SimulatedBoard());
        await using var gateway = new GatewayRuntime(Config(dir.Path), gpio, new FakeTimeProvider(), NullLoggerFactory.Instance);
        var executed = 0;
        gateway.Executor.Executed += (_, _) => executed++;

        var first = await gateway.Executor.HandleAsync(Command("cmd-1", CommandKind.SetAway), CancellationToken.None);
        var again = await gateway.Executor.HandleAsync(Command("cmd-1", CommandKind.SetAway), CancellationToken.None);

        Assert.Equal(first, again);
        Assert.Equal(1, executed);
    }

    private static async Task OpenAndCloseTheDoorAsync(SimulatedBoard board, FakeTimeProvider clock, GatewayRuntime gateway)
    {
        board.SetInput(DoorLine, PinValue.High);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        board.SetInput(DoorLine, PinValue.Low);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        await gateway.Rules.DrainAsync().WaitAsync(Bound);
        clock.Advance(TimeSpan.FromMinutes(10));
        await gateway.Rules.DrainAsync().WaitAsync(Bound);
    }

    private static byte[] Command(string id, string kind) => Encoding.UTF8.GetBytes(
        $$"""{ "version": 1, "commandId": "{{id}}", "gatewayId": "gw-away-1", "command": "{{kind}}", "sentAt": "2026-11-24T01:00:00+00:00", "by": "operator-7" }""");

    private static GatewayConfig Config(string dataDirectory) => new()
    {
        GatewayId = "gw-away-1",
        DataDirectory = dataDirectory,
        Broker = new BrokerConfig { Host = "127.0.0.1", Port = 1 },
        Board = new BoardConfig { Driver = BoardDriver.Simulated },
        Sensors =
        [
            new SensorDefinition { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", OuterDoor = true, Gpio = new GpioInputOptions { Line = DoorLine, DebounceMs = 50 } },
        ],
    };
}
