using System.Device.Gpio;
using CareGateway.Hardware;
using CareGateway.Sensors;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

public class GpioInputTests
{
    private static SensorDefinition Door(ActiveLevel level, PullMode pull = PullMode.Up, int debounceMs = 50) => new()
    {
        Id = "door-front",
        Kind = SensorKind.Door,
        Room = "hallway",
        Gpio = new GpioInputOptions { Line = 17, ActiveLevel = level, Pull = pull, DebounceMs = debounceMs },
    };

    [Fact]
    public void Contact_bounce_yields_one_event_stamped_with_the_first_edge()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 1, 0, 0, TimeSpan.Zero));
        var board = new SimulatedBoard();
        board.SetInput(17, PinValue.Low);
        using var gpio = new GpioController(board);
        var events = new List<SensorEvent>();
        using var input = new GpioSensorInput(gpio, Door(ActiveLevel.High), clock, events.Add);
        var openedAt = clock.GetUtcNow();

        board.Bounce(17, PinValue.High, toggles: 7);
        clock.Advance(TimeSpan.FromMilliseconds(10));
        board.Bounce(17, PinValue.High, toggles: 3);
        Assert.Empty(events);
        clock.Advance(TimeSpan.FromMilliseconds(60));

        var e = Assert.Single(events);
        Assert.True(e.Active);
        Assert.Equal(openedAt, e.At);
        Assert.True(input.Active);
    }

    [Fact]
    public void A_glitch_shorter_than_the_debounce_time_yields_nothing()
    {
        var clock = new FakeTimeProvider();
        var board = new SimulatedBoard();
        board.SetInput(17, PinValue.Low);
        using var gpio = new GpioController(board);
        var events = new List<SensorEvent>();
        using var input = new GpioSensorInput(gpio, Door(ActiveLevel.High), clock, events.Add);

        board.SetInput(17, PinValue.High);
        clock.Advance(TimeSpan.FromMilliseconds(20));
        board.SetInput(17, PinValue.Low);
        clock.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Empty(events);
    }

    [Theory]
    [InlineData(ActiveLevel.High, true, true)]
    [InlineData(ActiveLevel.High, false, false)]
    [InlineData(ActiveLevel.Low, false, true)]
    [InlineData(ActiveLevel.Low, true, false)]
    public void The_active_level_decides_what_a_line_level_means(ActiveLevel activeLevel, bool high, bool active)
    {
        var level = high ? PinValue.High : PinValue.Low;
        var clock = new FakeTimeProvider();
        var board = new SimulatedBoard();
        var idle = level == PinValue.High ? PinValue.Low : PinValue.High;
        board.SetInput(17, idle);
        using var gpio = new GpioController(board);
        var events = new List<SensorEvent>();
        using var input = new GpioSensorInput(gpio, Door(activeLevel), clock, events.Add);

        board.SetInput(17, level);
        clock.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal(active, Assert.Single(events).Active);
    }

    [Fact]
    public void The_input_opens_the_line_with_its_pull_and_closes_it_on_dispose()
    {
        var board = new SimulatedBoard();
        using var gpio = new GpioController(board);
        var input = new GpioSensorInput(gpio, Door(ActiveLevel.High, PullMode.Up), new FakeTimeProvider(), _ => { });

        Assert.True(board.IsOpen(17));
        Assert.Equal(PinValue.High, board.Level(17)); // an unconnected input with pull-up reads high
        input.Dispose();
        Assert.False(board.IsOpen(17));
    }
}
