using System.Device.Gpio;

namespace CareGateway.Sensors;

/// <summary>
/// A thin adapter from one GPIO line to normalized <see cref="SensorEvent"/>s: it opens the line with the configured pull,
/// feeds every edge to a <see cref="Debouncer"/>, and maps the debounced level to active/inactive.
/// </summary>
public sealed class GpioSensorInput : IDisposable
{
    private readonly GpioController _controller;
    private readonly SensorDefinition _sensor;
    private readonly GpioInputOptions _gpio;
    private readonly Debouncer _debouncer;
    private readonly PinChangeEventHandler _handler;

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
        _controller.OpenPin(_gpio.Line, mode);

        _debouncer = new Debouncer(
            TimeSpan.FromMilliseconds(_gpio.DebounceMs),
            time,
            IsActive(_controller.Read(_gpio.Line)),
            (active, at) => emit(new SensorEvent(_sensor.Id, _sensor.Kind, _sensor.Room, active, at)));

        _handler = (_, e) => _debouncer.Input(IsActive(e.ChangeType == PinEventTypes.Rising ? PinValue.High : PinValue.Low));
        _controller.RegisterCallbackForPinValueChangedEvent(_gpio.Line, PinEventTypes.Rising | PinEventTypes.Falling, _handler);
    }

    /// <summary>The debounced state: is the sensor active now.</summary>
    public bool Active => _debouncer.Stable;

    public SensorDefinition Sensor => _sensor;

    public void Dispose()
    {
        _controller.UnregisterCallbackForPinValueChangedEvent(_gpio.Line, _handler);
        _debouncer.Dispose();
        if (_controller.IsPinOpen(_gpio.Line))
        {
            _controller.ClosePin(_gpio.Line);
        }
    }

    private bool IsActive(PinValue level) => (level == PinValue.High) == (_gpio.ActiveLevel == ActiveLevel.High);
}
