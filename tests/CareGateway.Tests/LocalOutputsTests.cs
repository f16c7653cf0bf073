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

    private static (SimulatedBoard Board, GpioController Gpio, GpioAlarmIndicator Indicator, LocalOutputs Outputs) Board()
    {
        var board = new SimulatedBoard();
        var gpio = new GpioController(board);
        var indicator = new GpioAlarmIndicator(
            gpio,
            new GpioOutputLine(Buzzer, ActiveHigh: true),
            [new LedLine("red", new GpioOutputLine(Red, true)), new LedLine("yellow", new GpioOutputLine(Yellow, true))]);
        return (board, gpio, indicator, new LocalOutputs(indicator));
    }
}
