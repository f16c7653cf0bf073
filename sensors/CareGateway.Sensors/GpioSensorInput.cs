using System.Device.Gpio;

namespace CareGateway.Sensors;

/// <summary>
/// A thin adapter from one GPIO line to normalized <see cref="SensorEvent"/>s: it opens the line with the configured pull,
/// feeds every edge to a <see cref="Debouncer"/>, maps the debounced level to active/inactive (from the active level or
/// the contact wiring and pull), and for bed mats holds an absence back for the settle time (<see cref="AbsenceSettler"/>).
/// </summary>
public sealed class GpioSensorInput : IDisposable
{
    private readonly GpioController _controller;
    private readonly SensorDefinition _sensor;
    private readonly GpioInputOptions _gpio;
    private readonly Debouncer _debouncer;
    private readonly AbsenceSettler _settler;
    private readonly PinChangeEventHandler _handler;
    private readonly int _line;
    private readonly ActiveLevel _activeLevel;

    public GpioSensorInput(GpioController controller, SensorDefinition sensor, TimeProvider time, Action<SensorEvent> emit)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(sensor);
        ArgumentNullException.ThrowIfNull(emit);
        _controller = controller;
        _sensor = sensor;
        _gpio = sensor.Gpio ?? throw new ArgumentException($"Sensor '{sensor.Id}' has no gpio section.", nameof(sensor));

        var mode = _gpio.Pull switch
        {
            PullMode.Up => PinMode.InputPullUp,
            PullMode.Down => PinMode.InputPullDown,
            _ => PinMode.Input,
        };
        _line = _gpio.Line ?? throw new ArgumentException($"Sensor '{sensor.Id}' has no resolved GPIO line (resolve headerPin with the board profile first).", nameof(sensor));
        _activeLevel = _gpio.EffectiveActiveLevel();
        _controller.OpenPin(_line, mode);

        var initial = IsActive(_controller.Read(_line));
        var settle = sensor.Kind == SensorKind.Bed ? TimeSpan.FromMilliseconds(_gpio.SettleMs) : TimeSpan.Zero;
        _settler = new AbsenceSettler(settle, time, initial, (active, at) => emit(new SensorEvent(_sensor.Id, _sensor.Kind, _sensor.Room, active, at)));
        _debouncer = new Debouncer(TimeSpan.FromMilliseconds(_gpio.DebounceMs), time, initial, _settler.Input);

        _handler = (_, e) => _debouncer.Input(IsActive(e.ChangeType == PinEventTypes.Rising ? PinValue.High : PinValue.Low));
        _controller.RegisterCallbackForPinValueChangedEvent(_line, PinEventTypes.Rising | PinEventTypes.Falling, _handler);
    }

    /// <summary>The reported state: is the sensor active now (after debounce and, for bed mats, the settle time).</summary>
    public bool Active => _settler.Reported;

    public SensorDefinition Sensor => _sensor;

    public void Dispose()
    {
        _controller.UnregisterCallbackForPinValueChangedEvent(_line, _handler);
        _debouncer.Dispose();
        _settler.Dispose();
        if (_controller.IsPinOpen(_line))
        {
            _controller.ClosePin(_line);
        }
    }

    private bool IsActive(PinValue level) => (level == PinValue.High) == (_activeLevel == ActiveLevel.High);
}
