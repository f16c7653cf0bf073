using System.Buffers;
using System.Device.Gpio;
using System.Text;
using CareGateway.Hardware;
using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.IntegrationTests;

/// <summary>
/// Issue 14: the kinds the field uses, through the real composition: a dry contact on the simulated board, the
/// configuration, the GPIO driver, the rules, the outbox and the uplink, and the alarm at a subscriber of a real
/// Mosquitto with its VKP code and triage, at once (no pre-alarm may hold these).
/// </summary>
public class NewKindsIntegrationTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(SensorKind.PullCord, AlarmType.PullCord, "4.14")]
    [InlineData(SensorKind.Epilepsy, AlarmType.Epilepsy, "4.24")]
    [InlineData(SensorKind.CarbonMonoxide, AlarmType.CarbonMonoxide, "4")]
    [InlineData(SensorKind.Gas, AlarmType.Gas, "4")]
    public async Task A_dry_contact_of_the_kind_raises_its_critical_alarm_at_the_centre(SensorKind kind, string type, string vkpCode)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        using var centre = new MqttClientFactory().CreateMqttClient();
        var arrived = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        centre.ApplicationMessageReceivedAsync += e =>
        {
            arrived.TrySetResult(Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray()));
            return Task.CompletedTask;
        };
        await centre.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).Build());
        await centre.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("care/v1/+/alarm", MqttQualityOfServiceLevel.AtLeastOnce).Build());

        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 13, 0, 0, TimeSpan.Zero));
        var board = new SimulatedBoard();
        board.SetInput(27, PinValue.High); // at rest: the pull-up holds the open contact high
        using var gpio = new GpioController(board);
        var config = new GatewayConfig
        {
            GatewayId = "gw-kinds-1",
            DataDirectory = dir.Path,
            Broker = new BrokerConfig { Host = broker.Host, Port = broker.Port },
            Board = new BoardConfig { Driver = BoardDriver.Simulated },
            Sensors = [new SensorDefinition { Id = "contact-1", Kind = kind, Room = "bedroom", Gpio = new GpioInputOptions { Line = 27, Pull = PullMode.Up, ActiveLevel = ActiveLevel.Low } }],
        };
        Assert.Empty(ConfigLoader.Validate(config));
        await using var gateway = new GatewayRuntime(config, gpio, clock, NullLoggerFactory.Instance);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Uplink.Connected += () => connected.TrySetResult();
        using var stop = new CancellationTokenSource();
        var running = gateway.RunAsync(stop.Token);
        await connected.Task.WaitAsync(Bound);

        board.SetInput(27, PinValue.Low); // the contact closes: cord pulled, seizure detected, gas or CO detected
        clock.Advance(TimeSpan.FromMilliseconds(100));
        await gateway.Rules.DrainAsync();

        var json = await arrived.Task.WaitAsync(Bound);
        SchemaValidation.AssertValid("alarm", json);
        Assert.True(ProtocolJson.TryParseAlarm(Encoding.UTF8.GetBytes(json), out var alarm, out var error), error);
        Assert.Equal((type, vkpCode, Triage.Red, AlarmPriority.Critical, "contact-1", "bedroom"), (alarm.Type, alarm.VkpCode, alarm.Triage, alarm.Priority, alarm.SensorId, alarm.Room));
        Assert.Equal(clock.GetUtcNow(), alarm.RaisedAt, TimeSpan.FromSeconds(1)); // at once, not after a pre-alarm window

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }
}
