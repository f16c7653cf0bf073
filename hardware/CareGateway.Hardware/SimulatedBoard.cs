using System.Device.Gpio;

namespace CareGateway.Hardware;

/// <summary>
/// A simulated GPIO board: a real <see cref="GpioDriver"/> that a <see cref="GpioController"/> drives exactly as it drives
/// libgpiod on a Raspberry Pi. The demo and the tests set input levels (as a contact, a button or a wired fall detector
/// would) and read outputs (buzzer, LEDs). Callbacks run synchronously on the thread that changes the level.
/// </summary>
public sealed class SimulatedBoard : GpioDriver
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, SimulatedPin> _pins = [];

    /// <param name="pinCount">Number of GPIO lines (a Raspberry Pi header exposes 0-27).</param>
    public SimulatedBoard(int pinCount = 28)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pinCount);
        PinCount = pinCount;
    }

    protected override int PinCount { get; }

    private readonly List<(int Pin, PinValue Level)> _writes = [];

    /// <summary>Raised after an output pin was written, with the pin and its new level.</summary>
    public event Action<int, PinValue>? OutputWritten;

    /// <summary>Every write to an output line so far, in order (buzzer, LEDs).</summary>
    public IReadOnlyList<(int Pin, PinValue Level)> Writes
    {
        get
        {
            lock (_gate)
            {
                return [.. _writes];
            }
        }
    }

    /// <summary>Drives an input line to <paramref name="level"/>, as the wiring outside the board would.</summary>
    public void SetInput(int pin, PinValue level)
    {
        List<PinChangeEventHandler> handlers;
        PinEventTypes edge;
        lock (_gate)
        {
            var state = GetOrAdd(pin);
            state.DrivenExternally = true;
            if (state.Level == level)
            {
                return;
            }

            state.Level = level;
            edge = level == PinValue.High ? PinEventTypes.Rising : PinEventTypes.Falling;
            handlers = [.. state.Handlers.Where(h => (h.Events & edge) != 0).Select(h => h.Handler)];
        }

        var args = new PinValueChangedEventArgs(edge, pin);
        foreach (var handler in handlers)
        {
            handler(this, args);
        }
    }

    /// <summary>Contact bounce: toggles the line <paramref name="toggles"/> times around the old level, then settles on <paramref name="final"/>.</summary>
    public void Bounce(int pin, PinValue final, int toggles)
    {
        var other = final == PinValue.High ? PinValue.Low : PinValue.High;
        for (var i = 0; i < toggles; i++)
        {
            SetInput(pin, i % 2 == 0 ? final : other);
        }

        SetInput(pin, final);
    }

    /// <summary>The level of a line as the board sees it (input or output).</summary>
    public PinValue Level(int pin)
    {
        lock (_gate)
        {
            return GetOrAdd(pin).Level;
        }
    }

    public bool IsOpen(int pin)
    {
        lock (_gate)
        {
            return _pins.TryGetValue(pin, out var state) && state.Open;
        }
    }

    protected override void OpenPin(int pinNumber)
    {
        lock (_gate)
        {
            CheckPin(pinNumber);
            GetOrAdd(pinNumber).Open = true;
        }
    }

    protected override void ClosePin(int pinNumber)
    {
        lock (_gate)
        {
            if (_pins.TryGetValue(pinNumber, out var state))
            {
                state.Open = false;
                state.Handlers.Clear();
            }
        }
    }

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        lock (_gate)
        {
            var state = GetOrAdd(pinNumber);
            state.Mode = mode;

            // Pull resistors set the idle level of an unconnected input.
            if (mode == PinMode.InputPullUp && !state.DrivenExternally)
            {
                state.Level = PinValue.High;
            }
            else if (mode == PinMode.InputPullDown && !state.DrivenExternally)
            {
                state.Level = PinValue.Low;
            }
        }
    }

    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_gate)
        {
            return GetOrAdd(pinNumber).Mode;
        }
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) =>
        mode is PinMode.Input or PinMode.InputPullUp or PinMode.InputPullDown or PinMode.Output;

    protected override PinValue Read(int pinNumber)
    {
        lock (_gate)
        {
            return GetOrAdd(pinNumber).Level;
        }
    }

    protected override void Write(int pinNumber, PinValue value)
    {
        lock (_gate)
        {
            var state = GetOrAdd(pinNumber);
            if (state.Mode != PinMode.Output)
            {
                throw new InvalidOperationException($"GPIO {pinNumber} is not an output.");
            }

            state.Level = value;
            _writes.Add((pinNumber, value));
        }

        OutputWritten?.Invoke(pinNumber, value);
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken)
    {
        using var signal = new ManualResetEventSlim();
        var edge = PinEventTypes.None;
        void Handler(object sender, PinValueChangedEventArgs e)
        {
            edge = e.ChangeType;
            signal.Set();
        }

        AddCallbackForPinValueChangedEvent(pinNumber, eventTypes, Handler);
        try
        {
            signal.Wait(cancellationToken);
            return new WaitForEventResult { EventTypes = edge, TimedOut = false };
        }
        catch (OperationCanceledException)
        {
            return new WaitForEventResult { EventTypes = PinEventTypes.None, TimedOut = true };
        }
        finally
        {
            RemoveCallbackForPinValueChangedEvent(pinNumber, Handler);
        }
    }

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_gate)
        {
            GetOrAdd(pinNumber).Handlers.Add((eventTypes, callback));
        }
    }

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_gate)
        {
            GetOrAdd(pinNumber).Handlers.RemoveAll(h => h.Handler == callback);
        }
    }

    private void CheckPin(int pinNumber)
    {
        if (pinNumber < 0 || pinNumber >= PinCount)
        {
            throw new ArgumentOutOfRangeException(nameof(pinNumber), pinNumber, $"The simulated board has GPIO 0-{PinCount - 1}.");
        }
    }

    private SimulatedPin GetOrAdd(int pin)
    {
        CheckPin(pin);
        if (!_pins.TryGetValue(pin, out var state))
        {
            state = new SimulatedPin();
            _pins[pin] = state;
        }

        return state;
    }

    private sealed class SimulatedPin
    {
        public PinValue Level { get; set; } = PinValue.Low;
        public PinMode Mode { get; set; } = PinMode.Input;
        public bool Open { get; set; }
        public bool DrivenExternally { get; set; }
        public List<(PinEventTypes Events, PinChangeEventHandler Handler)> Handlers { get; } = [];
    }
}
