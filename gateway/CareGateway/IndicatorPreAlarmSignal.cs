using CareGateway.Core;

namespace CareGateway;

/// <summary>
/// The local pre-alarm the resident hears and sees: while at least one alarm is held in its cancel window the buzzer
/// sounds and the alarm LED is lit (see <see cref="LocalOutputs"/> for which LEDs). Several held alarms share one
/// buzzer; it stops when the last one is cancelled or sent, unless a warning still holds it.
/// </summary>
public sealed class IndicatorPreAlarmSignal : IPreAlarmSignal
{
    private const string Reason = "pre-alarm";
    private readonly Lock _gate = new();
    private readonly LocalOutputs _outputs;
    private readonly IPreAlarmSignal? _next;
    private int _held;

    /// <param name="outputs">The board's buzzer and LEDs.</param>
    /// <param name="next">Another signal told the same (for example the log).</param>
    public IndicatorPreAlarmSignal(LocalOutputs outputs, IPreAlarmSignal? next = null)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        _outputs = outputs;
        _next = next;
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
        _outputs.Set(LocalOutputs.Output.Buzzer, Reason, on);
        _outputs.Set(LocalOutputs.Output.AlarmLed, Reason, on);
    }
}
