using System.Device.Gpio;

namespace CareGateway.Hardware;

/// <summary>The local pre-alarm outputs: a buzzer and named LEDs. Small, so that the alarm pipeline does not see pins.</summary>
public interface IAlarmIndicator
{
    /// <summary>The LED names this indicator has.</summary>
    IReadOnlyList<string> Leds { get; }

    void SetBuzzer(bool sounding);

    /// <summary>Switches a named LED; an unknown name is an <see cref="ArgumentException"/>.</summary>
    void SetLed(string name, bool lit);
}

/// <summary>One output line and the level that switches it on.</summary>
public sealed record GpioOutputLine(int Line, bool ActiveHigh);

/// <summary>A named LED on an output line.</summary>
public sealed record LedLine(string Name, GpioOutputLine Output);

/// <summary>
/// <see cref="IAlarmIndicator"/> over a <see cref="GpioController"/>: opens each line as an output, switched off, and
/// closes it (off) on dispose. On the <see cref="SimulatedBoard"/> every write is visible through
/// <see cref="SimulatedBoard.OutputWritten"/>.
/// </summary>
public sealed class GpioAlarmIndicator : IAlarmIndicator, IDisposable
{
    private readonly GpioController? _gpio;
    private readonly GpioOutputLine? _buzzer;
    private readonly Dictionary<string, GpioOutputLine> _leds;

    /// <param name="gpio">The board's GPIO; may be null only when there is no buzzer and no LED.</param>
    /// <param name="buzzer">The buzzer's line, if any.</param>
    /// <param name="leds">The LEDs' lines.</param>
    public GpioAlarmIndicator(GpioController? gpio, GpioOutputLine? buzzer, IEnumerable<LedLine> leds)
    {
        ArgumentNullException.ThrowIfNull(leds);
        _gpio = gpio;
        _buzzer = buzzer;
        _leds = leds.ToDictionary(l => l.Name, l => l.Output, StringComparer.Ordinal);
        Leds = [.. _leds.Keys];
        if (_gpio is null && All().Any())
        {
            throw new ArgumentNullException(nameof(gpio), "A buzzer or LED needs the board's GPIO.");
        }

        foreach (var output in All())
        {
            _gpio!.OpenPin(output.Line, PinMode.Output, Level(output, on: false));
        }
    }

    public IReadOnlyList<string> Leds { get; }

    public void SetBuzzer(bool sounding)
    {
        if (_buzzer is { } b)
        {
            _gpio!.Write(b.Line, Level(b, sounding));
        }
    }

    public void SetLed(string name, bool lit)
    {
        if (!_leds.TryGetValue(name, out var led))
        {
            throw new ArgumentException($"No LED named '{name}'; this board has: {string.Join(", ", Leds)}", nameof(name));
        }

        _gpio!.Write(led.Line, Level(led, lit));
    }

    public void Dispose()
    {
        foreach (var output in All())
        {
            if (_gpio!.IsPinOpen(output.Line))
            {
                _gpio.Write(output.Line, Level(output, on: false));
                _gpio.ClosePin(output.Line);
            }
        }
    }

    private IEnumerable<GpioOutputLine> All() => _buzzer is null ? _leds.Values : _leds.Values.Prepend(_buzzer);

    private static PinValue Level(GpioOutputLine output, bool on) => on == output.ActiveHigh ? PinValue.High : PinValue.Low;
}
