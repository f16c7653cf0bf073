using System.Device.Gpio;
using CareGateway.Hardware;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>The runtime wires sensors, health and outputs from the configuration (no broker: the uplink just keeps trying).</summary>
public class GatewayRuntimeSensorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static GatewayConfig Config(string dataDir, int closedPort) => new()
    {
        GatewayId = "gw-unit-1",
        DataDirectory = dataDir,
        Broker = new BrokerConfig { Host = "127.0.0.1", Port = closedPort },
        Board = new BoardConfig
        {
            Driver = BoardDriver.Simulated,
            Buzzer = new GpioOutputOptions { HeaderPin = 12 },
            Leds = [new GpioOutputOptions { Name = "red", HeaderPin = 40, ActiveLevel = ActiveLevel.Low }],
        },
        Zigbee = new ZigbeeConfig { Broker = new ZigbeeBrokerConfig { Host = "127.0.0.1", Port = closedPort } },
        Sensors =
        [
            new SensorDefinition { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", Gpio = new() { HeaderPin = 11, Pull = PullMode.Up, Wiring = ContactWiring.NormallyClosed } },
            new SensorDefinition { Id = "smoke-kitchen", Kind = SensorKind.Smoke, Room = "kitchen", Zigbee = new() { Device = "kitchen/smoke" }, SupervisionMinutes = 60 },
        ],
    };

    [Fact]
    public async Task Header_pins_outputs_and_the_initial_state_come_from_the_configuration()
    {
        using var dir = new TempDir();
        var board = new SimulatedBoard();
        board.SetInput(17, PinValue.Low); // the NC door loop is closed
        using var gpio = new GpioController(board);
        var config = Config(dir.Path, 9);
        Assert.Empty(ConfigLoader.Validate(config));

        await using (var gateway = new GatewayRuntime(config, gpio, new FakeTimeProvider(), NullLoggerFactory.Instance))
        {
            Assert.True(board.IsOpen(17)); // header pin 11
            Assert.Equal(false, gateway.Health.Get("door-front")!.Active);
            Assert.Null(gateway.Health.Get("smoke-kitchen")!.Active);
            Assert.NotNull(gateway.Zigbee);

            gateway.Indicator.SetBuzzer(true);
            gateway.Indicator.SetLed("red", true);
            Assert.Equal(PinValue.High, board.Level(18)); // header pin 12
            Assert.Equal(PinValue.Low, board.Level(21));  // header pin 40, active low
        }

        Assert.False(board.IsOpen(18));
        Assert.False(board.IsOpen(17));
    }

    [Fact]
    public async Task A_zigbee_sensor_silent_past_its_supervision_becomes_one_sensor_offline_alarm()
    {
        using var dir = new TempDir();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 1, 0, 0, TimeSpan.Zero));
        using var gpio = new GpioController(new SimulatedBoard());
        await using var gateway = new GatewayRuntime(Config(dir.Path, 9), gpio, clock, NullLoggerFactory.Instance);
        var offline = new TaskCompletionSource<SensorEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Rules.EventSeen += e =>
        {
            if (e.Type == SensorEventType.Offline)
            {
                offline.TrySetResult(e);
            }
        };
        using var stop = new CancellationTokenSource();
        var running = gateway.RunAsync(stop.Token);

        clock.Advance(TimeSpan.FromMinutes(62));

        var e = await offline.Task.WaitAsync(Bound);
        Assert.Equal(("smoke-kitchen", SensorHealthMonitor.SupervisionTimeout), (e.SensorId, e.Detail));
        Assert.False(gateway.Health.Get("smoke-kitchen")!.Online);
        Assert.True(gateway.Health.Get("door-front")!.Online); // wired: not supervised
        await gateway.Rules.DrainAsync().WaitAsync(Bound);
        var alarm = Assert.Single(gateway.Outbox.All()); // the technical rules raise it once
        Assert.Equal((Protocol.AlarmType.SensorOffline, "smoke-kitchen"), (alarm.Alarm.Type, alarm.Alarm.SensorId));

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }
}
