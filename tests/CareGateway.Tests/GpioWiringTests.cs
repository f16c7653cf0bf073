using System.Device.Gpio;
using CareGateway.Hardware;
using CareGateway.Sensors;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

public class GpioWiringTests
{
    [Theory]
    [InlineData(ContactWiring.NormallyOpen, PullMode.Up, ActiveLevel.Low)]
    [InlineData(ContactWiring.NormallyOpen, PullMode.Down, ActiveLevel.High)]
    [InlineData(ContactWiring.NormallyClosed, PullMode.Up, ActiveLevel.High)]
    [InlineData(ContactWiring.NormallyClosed, PullMode.Down, ActiveLevel.Low)]
    public void Wiring_and_pull_decide_the_active_level(ContactWiring wiring, PullMode pull, ActiveLevel expected)
    {
        // The configured active level is ignored once the wiring says how the contact works.
        var gpio = new GpioInputOptions { Line = 17, Wiring = wiring, Pull = pull, ActiveLevel = expected == ActiveLevel.High ? ActiveLevel.Low : ActiveLevel.High };

        Assert.Equal(expected, gpio.EffectiveActiveLevel());
    }

    [Fact]
    public void A_normally_closed_door_loop_with_pull_up_is_active_when_the_loop_opens()
    {
        var clock = new FakeTimeProvider();
        var board = new SimulatedBoard();
        board.SetInput(17, PinValue.Low); // loop closed: the contact pulls the line to ground
        using var gpio = new GpioController(board);
        var events = new List<SensorEvent>();
        var door = new SensorDefinition { Id = "door-1", Kind = SensorKind.Door, Room = "hallway", Gpio = new() { Line = 17, Pull = PullMode.Up, Wiring = ContactWiring.NormallyClosed } };
        using var input = new GpioSensorInput(gpio, door, clock, events.Add);
        Assert.False(input.Active);

        board.SetInput(17, PinValue.High); // door opens (or the wire is cut): the pull-up takes the line high
        clock.Advance(TimeSpan.FromMilliseconds(60));

        Assert.True(Assert.Single(events).Active);
    }

    [Fact]
    public void A_normally_open_panic_button_with_pull_up_is_active_when_pressed()
    {
        var clock = new FakeTimeProvider();
        var board = new SimulatedBoard();
        board.SetInput(27, PinValue.High); // released: open contact, the pull-up holds the line high
        using var gpio = new GpioController(board);
        var events = new List<SensorEvent>();
        var panic = new SensorDefinition { Id = "panic-1", Kind = SensorKind.Panic, Room = "bedroom", Gpio = new() { Line = 27, Pull = PullMode.Up, Wiring = ContactWiring.NormallyOpen, DebounceMs = 30 } };
        using var input = new GpioSensorInput(gpio, panic, clock, events.Add);
        Assert.False(input.Active);

        board.Bounce(27, PinValue.Low, toggles: 5);
        clock.Advance(TimeSpan.FromMilliseconds(40));

        Assert.True(Assert.Single(events).Active);
    }

    private static (SimulatedBoard Board, GpioController Gpio, GpioSensorInput Input, List<SensorEvent> Events) BedMat(FakeTimeProvider clock, int settleMs)
    {
        var board = new SimulatedBoard();
        board.SetInput(5, PinValue.Low); // mat occupied: its contact pulls the line low
        var gpio = new GpioController(board);
        var events = new List<SensorEvent>();
        var bed = new SensorDefinition
        {
            Id = "bed-1", Kind = SensorKind.Bed, Room = "bedroom",
            Gpio = new() { Line = 5, Pull = PullMode.Up, Wiring = ContactWiring.NormallyOpen, DebounceMs = 50, SettleMs = settleMs },
        };
        return (board, gpio, new GpioSensorInput(gpio, bed, clock, events.Add), events);
    }

    [Fact]
    public void Turning_over_in_bed_is_not_out_of_bed()
    {
        var clock = new FakeTimeProvider();
        var (board, gpio, input, events) = BedMat(clock, settleMs: 5000);
        using var _ = gpio;
        using var __ = input;
        Assert.True(input.Active);

        board.SetInput(5, PinValue.High); // weight off the mat for a moment
        clock.Advance(TimeSpan.FromSeconds(3));
        board.SetInput(5, PinValue.Low);
        clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Empty(events);
        Assert.True(input.Active);
    }

    [Fact]
    public void An_absence_that_holds_for_the_settle_time_is_out_of_bed_stamped_when_it_began()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 2, 0, 0, TimeSpan.Zero));
        var (board, gpio, input, events) = BedMat(clock, settleMs: 5000);
        using var _ = gpio;
        using var __ = input;
        var leftAt = clock.GetUtcNow();

        board.Bounce(5, PinValue.High, toggles: 3);
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Empty(events);
        clock.Advance(TimeSpan.FromSeconds(2));

        var e = Assert.Single(events);
        Assert.False(e.Active);
        Assert.Equal(leftAt, e.At);

        board.SetInput(5, PinValue.Low); // back in bed: reported after debounce alone
        clock.Advance(TimeSpan.FromMilliseconds(60));
        Assert.Equal([false, true], events.Select(x => x.Active));
    }

    [Fact]
    public void The_alarm_indicator_drives_buzzer_and_leds_with_their_active_levels()
    {
        var board = new SimulatedBoard();
        var writes = new List<(int, PinValue)>();
        board.OutputWritten += (pin, v) => writes.Add((pin, v));
        using var gpio = new GpioController(board);
        using var indicator = new GpioAlarmIndicator(gpio, new GpioOutputLine(18, ActiveHigh: true), [new("red", new GpioOutputLine(23, ActiveHigh: false))]);

        // Both start off: the buzzer low, the active-low LED high.
        Assert.Equal(PinValue.Low, board.Level(18));
        Assert.Equal(PinValue.High, board.Level(23));

        indicator.SetBuzzer(true);
        indicator.SetLed("red", true);
        Assert.Equal(PinValue.High, board.Level(18));
        Assert.Equal(PinValue.Low, board.Level(23));
        Assert.Equal(["red"], indicator.Leds);

        indicator.SetBuzzer(false);
        Assert.Equal(PinValue.Low, board.Level(18));
        Assert.Contains((18, PinValue.High), writes);
        Assert.Equal([(18, PinValue.High), (23, PinValue.Low), (18, PinValue.Low)], board.Writes.Where(w => w.Pin is 18 or 23).Skip(2));
        Assert.Throws<ArgumentException>(() => indicator.SetLed("green", true));
    }
}
