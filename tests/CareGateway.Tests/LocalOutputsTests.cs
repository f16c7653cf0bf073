using System.Device.Gpio;
using CareGateway.Core;
using CareGateway.Hardware;
using CareGateway.Protocol;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging.Abstractions;

namespace CareGateway.Tests;

/// <summary>The board's buzzer and LEDs shared by the pre-alarm and the uplink's warnings.</summary>
public class LocalOutputsTests
{
    private const int Buzzer = 12;
    private const int Red = 16;
    private const int Yellow = 20;

    [Fact]
    public void A_warning_that_an_alarm_cannot_get_through_lights_the_warning_led_and_sounds_the_buzzer()
    {
        var (board, gpio, indicator, outputs) = Board();
        using var _ = gpio;
        using var __ = indicator;
        var warnings = new BoardWarningIndicator(outputs, new LoggingIndicator(NullLogger.Instance));

        warnings.Show(LocalWarning.CentreUnreachable, active: true, "no received for 60 s");
        Assert.Equal((PinValue.High, PinValue.High, PinValue.Low), (board.Level(Yellow), board.Level(Buzzer), board.Level(Red)));

        warnings.Show(LocalWarning.CentreUnreachable, active: false, "connected");
        Assert.Equal((PinValue.Low, PinValue.Low), (board.Level(Yellow), board.Level(Buzzer)));
    }

    [Fact]
    public void A_silent_centre_lights_the_warning_led_without_waking_the_resident()
    {
        var (board, gpio, indicator, outputs) = Board();
        using var _ = gpio;
        using var __ = indicator;
        var warnings = new BoardWarningIndicator(outputs, new LoggingIndicator(NullLogger.Instance));

        warnings.Show(LocalWarning.CentreSilent, active: true, "no heartbeat answers");

        Assert.Equal((PinValue.High, PinValue.Low), (board.Level(Yellow), board.Level(Buzzer)));
    }

    [Fact]
    public void The_end_of_a_pre_alarm_does_not_silence_a_warning_that_still_holds_the_buzzer()
    {
        var (board, gpio, indicator, outputs) = Board();
        using var _ = gpio;
        using var __ = indicator;
        var preAlarm = new IndicatorPreAlarmSignal(outputs);
        var warnings = new BoardWarningIndicator(outputs, new LoggingIndicator(NullLogger.Instance));
        var alarm = new AlarmRequest(AlarmType.BedExit, "bed-1", "bedroom", "out of bed", DateTimeOffset.UnixEpoch);

        preAlarm.Started(alarm, DateTimeOffset.UnixEpoch.AddMinutes(1));
        warnings.Show(LocalWarning.AlarmNotAccepted, active: true, "not accepted in 5 min");
        preAlarm.Ended(alarm, cancelled: false);

        Assert.Equal((PinValue.High, PinValue.Low, PinValue.High), (board.Level(Buzzer), board.Level(Red), board.Level(Yellow)));
        warnings.Show(LocalWarning.AlarmNotAccepted, active: false, "accepted");
        Assert.Equal(PinValue.Low, board.Level(Buzzer));
    }

    private const int Green = 21;

    [Fact]
    public async Task Accepted_lights_the_help_led_with_a_chime_once_closed_ends_it_and_a_restart_lights_it_again()
    {
        using var dir = new TempDir();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 2, 0, 0, TimeSpan.Zero));
        var (board, gpio, indicator, outputs) = Board();
        using var _ = gpio;
        using var __ = indicator;
        var panic = new NewAlarm(Guid.CreateVersion7().ToString(), AlarmType.Panic, AlarmPriority.Critical, "4.13", Triage.Red, AlarmState.Raised, "panic-bed", "bedroom", clock.GetUtcNow(), "Panic button pressed");
        var battery = new NewAlarm(Guid.CreateVersion7().ToString(), AlarmType.LowBattery, AlarmPriority.Low, "4", Triage.Blue, AlarmState.Raised, "door-1", "hallway", clock.GetUtcNow(), "Battery low");
        AckMessage Ack(NewAlarm a, AckState s) => new() { AlarmId = a.AlarmId, GatewayId = "gw-1", State = s, By = "operator-7", At = clock.GetUtcNow() };
        using (var outbox = new SqliteOutbox(dir.File("outbox.db")))
        {
            await outbox.AddAsync(panic, default);
            await outbox.AddAsync(battery, default);
            var help = new HelpOnTheWay(outputs, outbox, clock, NullLogger.Instance);
            var buzzer = new List<PinValue>();
            board.OutputWritten += (pin, level) => { if (pin == Buzzer) { lock (buzzer) { buzzer.Add(level); } } };

            help.OnAck(Ack(battery, AckState.Accepted), outbox.ApplyAck(Ack(battery, AckState.Accepted)));
            Assert.Equal(PinValue.Low, board.Level(Green)); // a technical alarm: nobody is coming to the resident

            help.OnAck(Ack(panic, AckState.Accepted), outbox.ApplyAck(Ack(panic, AckState.Accepted)));
            Assert.Equal((PinValue.High, PinValue.High), (board.Level(Green), board.Level(Buzzer)));
            // Tick the fake clock until the chime has played (each step waits on the clock, never on wall time).
            using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                while (!help.LastChime.IsCompleted)
                {
                    clock.Advance(TimeSpan.FromMilliseconds(30));
                    await Task.Delay(1, bound.Token);
                }
            }

            lock (buzzer)
            {
                Assert.Equal([PinValue.High, PinValue.Low, PinValue.High, PinValue.Low, PinValue.High, PinValue.Low], buzzer); // three notes, then quiet
            }

            help.OnAck(Ack(panic, AckState.Accepted), outbox.ApplyAck(Ack(panic, AckState.Accepted))); // a redelivery
            Assert.True(help.LastChime.IsCompleted); // no second chime
            Assert.Equal(PinValue.Low, board.Level(Buzzer));
            Assert.Equal(PinValue.High, board.Level(Green)); // lit until the alarm is closed
        }

        // Restart while help is on the way: the LED comes back (no chime); closed ends it.
        var (board2, gpio2, indicator2, outputs2) = Board();
        using var ___ = gpio2;
        using var ____ = indicator2;
        using var reopened = new SqliteOutbox(dir.File("outbox.db"));
        var again = new HelpOnTheWay(outputs2, reopened, clock, NullLogger.Instance);
        again.Restore();
        Assert.Equal((PinValue.High, PinValue.Low), (board2.Level(Green), board2.Level(Buzzer)));
        again.OnAck(Ack(panic, AckState.Closed), reopened.ApplyAck(Ack(panic, AckState.Closed)));
        Assert.Equal(PinValue.Low, board2.Level(Green));
    }

    private static (SimulatedBoard Board, GpioController Gpio, GpioAlarmIndicator Indicator, LocalOutputs Outputs) Board()
    {
        var board = new SimulatedBoard();
        var gpio = new GpioController(board);
        var indicator = new GpioAlarmIndicator(
            gpio,
            new GpioOutputLine(Buzzer, ActiveHigh: true),
            [new LedLine("red", new GpioOutputLine(Red, true)), new LedLine("yellow", new GpioOutputLine(Yellow, true)), new LedLine("green", new GpioOutputLine(Green, true))]);
        return (board, gpio, indicator, new LocalOutputs(indicator));
    }
}
