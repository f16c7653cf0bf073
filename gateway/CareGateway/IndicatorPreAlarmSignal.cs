using CareGateway.Core;
using CareGateway.Hardware;

namespace CareGateway;

/// <summary>
/// The local pre-alarm the resident hears and sees: while at least one alarm is held in its cancel window the buzzer
/// sounds and the alarm LEDs (named <c>alarm</c>, <c>pre-alarm</c> or <c>red</c> in the board's configuration) are lit.
/// Several held alarms share one buzzer; it stops when the last one is cancelled or sent.
/// </summary>
public sealed class IndicatorPreAlarmSignal : IPreAlarmSignal
{
    private static readonly string[] AlarmLedNames = ["alarm", "pre-alarm", "red"];
    private readonly Lock _gate = new();
    private readonly IAlarmIndicator _indicator;
    private readonly IPreAlarmSignal? _next;
    private readonly string[] _leds;
    private int _held;

    /// <param name="indicator">The board's buzzer and LEDs.</param>
    /// <param name="next">Another signal told the same (for example the log).</param>
    public IndicatorPreAlarmSignal(IAlarmIndicator indicator, IPreAlarmSignal? next = null)
    {
        ArgumentNullException.ThrowIfNull(indicator);
        _indicator = indicator;
        _next = next;
        _leds = [.. indicator.Leds.Where(name => AlarmLedNames.Contains(name, StringComparer.OrdinalIgnoreCase))];
    }

    /// <summary>Alarms held in their cancel window now.</summary>
    public int Held
    {
        get
        {
            lock (_gate)
            {
                return _held;
            }
        }
    }

    public void Started(AlarmRequest alarm, DateTimeOffset until)
    {
        lock (_gate)
        {
            if (++_held == 1)
            {
                Switch(true);
            }
        }

        _next?.Started(alarm, until);
    }

    public void Ended(AlarmRequest alarm, bool cancelled)
    {
        lock (_gate)
        {
            if (_held > 0 && --_held == 0)
            {
                Switch(false);
            }
        }

        _next?.Ended(alarm, cancelled);
    }

    private void Switch(bool on)
    {
        _indicator.SetBuzzer(on);
        foreach (var led in _leds)
        {
            _indicator.SetLed(led, on);
        }
    }
}
