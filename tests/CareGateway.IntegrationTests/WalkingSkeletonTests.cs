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

public class WalkingSkeletonTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_door_opening_at_night_reaches_the_centre_as_an_alarm_and_the_gateway_records_the_acknowledgement()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();

        // The centre's side: a plain MQTT subscriber.
        using var centre = new MqttClientFactory().CreateMqttClient();
        var arrived = new TaskCompletionSource<(string Topic, string Json)>(TaskCreationOptions.RunContinuationsAsynchronously);
        centre.ApplicationMessageReceivedAsync += e =>
        {
            arrived.TrySetResult((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray())));
            return Task.CompletedTask;
        };
        await centre.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("centre-test").Build());
        await centre.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("care/v1/+/alarm", MqttQualityOfServiceLevel.AtLeastOnce).Build());

        // The gateway: simulated board, 02:14 on a winter night in Oslo.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 1, 14, 0, TimeSpan.Zero));
        var board = new SimulatedBoard();
        board.SetInput(17, PinValue.Low);
        using var gpio = new GpioController(board);
        var config = new GatewayConfig
        {
            GatewayId = "gw-it-1",
            DataDirectory = dir.Path,
            Broker = new BrokerConfig { Host = broker.Host, Port = broker.Port },
            Board = new BoardConfig { Driver = BoardDriver.Simulated },
            Sensors =
            [
                new SensorDefinition { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", OuterDoor = true, Gpio = new GpioInputOptions { Line = 17, Pull = PullMode.Up } },
            ],
        };
        await using var gateway = new GatewayRuntime(config, gpio, clock, NullLoggerFactory.Instance);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Uplink.Connected += () => connected.TrySetResult();
        var acked = new TaskCompletionSource<AckState>(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Uplink.AckReceived += (ack, _) =>
        {
            if (ack.State == AckState.Accepted)
            {
                acked.TrySetResult(ack.State);
            }
        };
        using var stop = new CancellationTokenSource();
        var running = gateway.RunAsync(stop.Token);
        await connected.Task.WaitAsync(Bound);

        board.Bounce(17, PinValue.High, toggles: 5);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        board.SetInput(17, PinValue.Low);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        await gateway.Rules.DrainAsync();
        clock.Advance(TimeSpan.FromMinutes(5));

        var (topic, json) = await arrived.Task.WaitAsync(Bound);
        Assert.Equal("care/v1/gw-it-1/alarm", topic);
        SchemaValidation.AssertValid("alarm", json);
        Assert.True(ProtocolJson.TryParseAlarm(Encoding.UTF8.GetBytes(json), out var alarm, out var error), error);
        Assert.Equal(AlarmType.Wandering, alarm.Type);
        Assert.Equal("4.21", alarm.VkpCode);
        Assert.Equal(Triage.Orange, alarm.Triage);
        Assert.Equal(("door-front", "hallway", 1L, 1), (alarm.SensorId, alarm.Room, alarm.Seq, alarm.Attempt));
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 1, 19, 0, TimeSpan.Zero), alarm.RaisedAt);
        Assert.Equal(TimeSpan.Zero, alarm.RaisedAt.Offset);

        foreach (var state in new[] { AckState.Received, AckState.Accepted })
        {
            var ack = new AckMessage { AlarmId = alarm.AlarmId, GatewayId = "gw-it-1", State = state, By = "operator-1", At = clock.GetUtcNow() };
            await centre.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(Topics.Ack("gw-it-1"))
                .WithPayload(ProtocolJson.Serialize(ack))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build());
        }

        await acked.Task.WaitAsync(Bound);
        var stored = gateway.Outbox.Find(alarm.AlarmId);
        Assert.NotNull(stored);
        Assert.Equal(AckState.Accepted, stored.Ack);
        Assert.Equal(0, gateway.Outbox.PendingCount);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task The_gateway_status_is_retained_online_while_connected_and_offline_after_a_clean_stop()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        using var outbox = new Uplink.SqliteOutbox(dir.File("outbox.db"));
        var uplink = Uplink.Forwarder.OverMqtt(new Uplink.UplinkOptions { GatewayId = "gw-it-2", Host = broker.Host, Port = broker.Port }, outbox, null, TimeProvider.System, NullLogger.Instance);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        uplink.Connected += () => connected.TrySetResult();
        using var stop = new CancellationTokenSource();
        var running = uplink.RunAsync(stop.Token);
        await connected.Task.WaitAsync(Bound);

        // A watcher that connects later still sees the retained online status.
        Assert.Equal(GatewayState.Online, (await RetainedStatusAsync(broker, "gw-it-2")).State);

        await stop.CancelAsync();
        await running;
        await uplink.DisposeAsync();

        var after = await RetainedStatusAsync(broker, "gw-it-2");
        Assert.Equal(GatewayState.Offline, after.State);
        Assert.Equal("gw-it-2", after.GatewayId);
    }

    private static async Task<StatusMessage> RetainedStatusAsync(MosquittoBroker broker, string gatewayId)
    {
        using var watcher = new MqttClientFactory().CreateMqttClient();
        var got = new TaskCompletionSource<StatusMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Retain && ProtocolJson.TryParseStatus(e.ApplicationMessage.Payload.ToArray(), out var status, out var error))
            {
                got.TrySetResult(status);
            }

            return Task.CompletedTask;
        };
        await watcher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).Build());
        await watcher.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(Topics.Status(gatewayId), MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var result = await got.Task.WaitAsync(Bound);
        SchemaValidation.AssertValid("status", Encoding.UTF8.GetString(ProtocolJson.Serialize(result)));
        return result;
    }
}
