using CareGateway.Hardware;
using CareGateway.Uplink;

namespace CareGateway;

/// <summary>
/// The board's buzzer and LEDs, shared by everything that needs the resident's attention: the pre-alarm and the
/// warnings about the path to the centre. Each user holds an output on for a reason; an output is on while any reason
/// holds it, so one user ending never silences another. LEDs are found by name in <c>board.leds</c>: the alarm LED is
/// <c>alarm</c>, <c>pre-alarm</c> or <c>red</c>; the warning LED is <c>warning</c>, <c>fault</c>, <c>yellow</c> or
/// <c>amber</c>; the help LED ("help is on the way") is <c>help</c>, <c>ok</c> or <c>green</c>.
/// </summary>
public sealed class LocalOutputs
{
    private static readonly string[] AlarmLedNames = ["alarm", "pre-alarm", "red"];
    private static readonly string[] WarningLedNames = ["warning", "fault", "yellow", "amber"];
    private static readonly string[] HelpLedNames = ["help", "ok", "green"];
    private readonly Lock _gate = new();
    private readonly IAlarmIndicator _board;
    private readonly Dictionary<Output, HashSet<string>> _holders = new()
    {
        [Output.Buzzer] = [],
        [Output.AlarmLed] = [],
        [Output.WarningLed] = [],
        [Output.HelpLed] = [],
    };

    private readonly string[] _alarmLeds;
    private readonly string[] _warningLeds;
    private readonly string[] _helpLeds;

    public LocalOutputs(IAlarmIndicator board)
    {
        ArgumentNullException.ThrowIfNull(board);
        _board = board;
        _alarmLeds = [.. board.Leds.Where(n => AlarmLedNames.Contains(n, StringComparer.OrdinalIgnoreCase))];
        _warningLeds = [.. board.Leds.Where(n => WarningLedNames.Contains(n, StringComparer.OrdinalIgnoreCase))];
        _helpLeds = [.. board.Leds.Where(n => HelpLedNames.Contains(n, StringComparer.OrdinalIgnoreCase))];
    }

    /// <summary>Whether the board has a help LED (without one, "help is on the way" is the chime alone).</summary>
    public bool HasHelpLed => _helpLeds.Length > 0;

    public enum Output
    {
        Buzzer,
        AlarmLed,
        WarningLed,
        HelpLed,
    }

    /// <summary>Holds (or releases) an output for a reason.</summary>
    public void Set(Output output, string reason, bool on)
    {
        lock (_gate)
        {
            var holders = _holders[output];
            var was = holders.Count > 0;
            if (on)
            {
                holders.Add(reason);
            }
            else
            {
                holders.Remove(reason);
            }

            var now = holders.Count > 0;
            if (now != was)
            {
                Switch(output, now);
            }
        }
    }

    public bool IsOn(Output output)
    {
        lock (_gate)
        {
            return _holders[output].Count > 0;
        }
    }

    private void Switch(Output output, bool on)
    {
        switch (output)
        {
            case Output.Buzzer:
                _board.SetBuzzer(on);
                break;
            case Output.AlarmLed:
                foreach (var led in _alarmLeds)
                {
                    _board.SetLed(led, on);
                }

                break;
            case Output.HelpLed:
                foreach (var led in _helpLeds)
                {
                    _board.SetLed(led, on);
                }

                break;
            default:
                foreach (var led in _warningLeds)
                {
                    _board.SetLed(led, on);
                }

                break;
        }
    }
}

/// <summary>
/// The uplink's local warnings on the board: every warning lights the warning LED; a warning that an alarm may not reach
/// help (the centre cannot be reached, or nobody has accepted an alarm in time) also sounds the buzzer. The warning is
/// logged too.
/// </summary>
public sealed class BoardWarningIndicator(LocalOutputs outputs, ILocalIndicator next) : ILocalIndicator
{
    public void Show(LocalWarning warning, bool active, string reason)
    {
        var key = "warning:" + warning;
        outputs.Set(LocalOutputs.Output.WarningLed, key, active);
        if (warning is LocalWarning.CentreUnreachable or LocalWarning.AlarmNotAccepted)
        {
            outputs.Set(LocalOutputs.Output.Buzzer, key, active);
        }

        next.Show(warning, active, reason);
    }
}
