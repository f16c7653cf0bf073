using System.Device.Gpio;
using CareGateway.Hardware;
using CareGateway.Protocol;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>The held pre-alarm reaches the resident: the buzzer and alarm LED on the board, through the real composition.</summary>
public class PreAlarmIndicatorTests
{
    private const int BedLine = 5;
    private const int CancelLine = 6;
    private const int BuzzerLine = 12;
    private const int RedLedLine = 16;
    private const int GreenLedLine = 20;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_held_bed_exit_sounds_the_buzzer_until_the_resident_cancels_it_and_is_still_reported_as_cancelled()
    {
        using var dir = new TempDir();
        var (board, clock, gateway, gpio) = Start(dir);
        using var __ = gpio; // declared first: disposed after the gateway that uses it
        await using var _ = gateway;
        using var stop = new CancellationTokenSource();
        var running = gateway.Rules.RunAsync(stop.Token);

        await InBedThenOutAsync(board, clock, gateway);
        Assert.Equal(PinValue.High, board.Level(BuzzerLine));
        Assert.Equal(PinValue.High, board.Level(RedLedLine));
        Assert.Equal(PinValue.Low, board.Level(GreenLedLine)); // not an alarm LED
        Assert.Empty(gateway.Outbox.All()); // held, not yet sent

        board.SetInput(CancelLine, PinValue.High);
        await StepAsync(clock, gateway, TimeSpan.FromMilliseconds(100));

        Assert.Equal(PinValue.Low, board.Level(BuzzerLine));
        Assert.Equal(PinValue.Low, board.Level(RedLedLine));
        var alarm = Assert.Single(gateway.Outbox.All()).Alarm;
        Assert.Equal((AlarmType.BedExit, AlarmState.Cancelled), (alarm.Type, alarm.State));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task A_held_bed_exit_not_cancelled_stops_the_buzzer_and_is_sent_when_the_window_ends()
    {
        using var dir = new TempDir();
        var (board, clock, gateway, gpio) = Start(dir);
        using var __ = gpio; // declared first: disposed after the gateway that uses it
        await using var _ = gateway;
        using var stop = new CancellationTokenSource();
        var running = gateway.Rules.RunAsync(stop.Token);

        await InBedThenOutAsync(board, clock, gateway);
        Assert.Equal(PinValue.High, board.Level(BuzzerLine));

        await StepAsync(clock, gateway, TimeSpan.FromSeconds(61));

        Assert.Equal(PinValue.Low, board.Level(BuzzerLine));
        var alarm = Assert.Single(gateway.Outbox.All()).Alarm;
        Assert.Equal((AlarmType.BedExit, AlarmState.Raised), (alarm.Type, alarm.State));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    private static async Task InBedThenOutAsync(SimulatedBoard board, FakeTimeProvider clock, GatewayRuntime gateway)
    {
        board.SetInput(BedLine, PinValue.High);
        await StepAsync(clock, gateway, TimeSpan.FromMinutes(15));
        board.SetInput(BedLine, PinValue.Low);
        await StepAsync(clock, gateway, TimeSpan.FromMilliseconds(100));
        await StepAsync(clock, gateway, TimeSpan.FromMinutes(6));
    }

    /// <summary>Lets the debounce and rule timers run, then waits until the rules have seen the result.</summary>
    private static async Task StepAsync(FakeTimeProvider clock, GatewayRuntime gateway, TimeSpan by)
    {
        await gateway.Rules.DrainAsync().WaitAsync(Bound);
        clock.Advance(by);
        await gateway.Rules.DrainAsync().WaitAsync(Bound);
    }

    private static (SimulatedBoard Board, FakeTimeProvider Clock, GatewayRuntime Gateway, GpioController Gpio) Start(TempDir dir)
    {
        // 23:00 on a winter night in Oslo.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 22, 0, 0, TimeSpan.Zero));
        var board = new SimulatedBoard();
        board.SetInput(BedLine, PinValue.Low);
        board.SetInput(CancelLine, PinValue.Low);
        var gpio = new GpioController(board);
        var config = new GatewayConfig
        {
            GatewayId = "gw-pre-1",
            DataDirectory = dir.Path,
            Broker = new BrokerConfig { Host = "127.0.0.1", Port = 1 },
            Board = new BoardConfig
            {
                Driver = BoardDriver.Simulated,
                Buzzer = new GpioOutputOptions { Name = "buzzer", Line = BuzzerLine },
                Leds = [new GpioOutputOptions { Name = "red", Line = RedLedLine }, new GpioOutputOptions { Name = "green", Line = GreenLedLine }],
            },
            Sensors =
            [
                new SensorDefinition { Id = "bed-1", Kind = SensorKind.Bed, Room = "bedroom", Gpio = new GpioInputOptions { Line = BedLine, DebounceMs = 0 } },
                new SensorDefinition { Id = "cancel-1", Kind = SensorKind.CancelButton, Room = "bedroom", Gpio = new GpioInputOptions { Line = CancelLine, DebounceMs = 0 } },
            ],
            CareProfile = new CareProfileConfig { PreAlarm = new PreAlarmConfig { Enabled = true, CancelWindowSeconds = 60 } },
        };
        var gateway = new GatewayRuntime(config, gpio, clock, NullLoggerFactory.Instance);
        return (board, clock, gateway, gpio);
    }
}
