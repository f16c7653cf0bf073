using System.Buffers;
using System.Collections.Concurrent;
using System.Device.Gpio;
using System.Text;
using CareGateway.Core;
using CareGateway.Hardware;
using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Sensors.Zigbee;
using CareGateway.Tests;
using CareGateway.Tests.Zigbee;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.IntegrationTests;

/// <summary>The zigbee2mqtt driver against a real Mosquitto: the test plays zigbee2mqtt and publishes the fixture corpus.</summary>
public class ZigbeeIntegrationTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 0, 0, TimeSpan.Zero);

    /// <summary>Collects events and lets the test wait for a count, without sleeping.</summary>
    private sealed class Sink
    {
        private readonly ConcurrentQueue<SensorEvent> _events = new();
        private readonly Lock _gate = new();
        private readonly List<(Func<bool> Done, TaskCompletionSource Signal)> _waiters = [];

        public IReadOnlyList<SensorEvent> Events => [.. _events];

        public void Add(SensorEvent e)
        {
            _events.Enqueue(e);
            lock (_gate)
            {
                foreach (var w in _waiters.Where(w => w.Done()).ToList())
                {
                    w.Signal.TrySetResult();
                    _waiters.Remove(w);
                }
            }
        }

        public Task WaitFor(Func<IReadOnlyList<SensorEvent>, bool> done)
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                if (done(Events))
                {
                    return Task.CompletedTask;
                }

                _waiters.Add((() => done(Events), tcs));
            }

            return tcs.Task.WaitAsync(Bound);
        }
    }

    private static async Task<IMqttClient> Zigbee2Mqtt(MosquittoBroker broker)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("zigbee2mqtt-fake").Build());
        return client;
    }

    private static async Task Publish(IMqttClient z2m, string topic, string payload, bool retain = false)
    {
        var result = await z2m.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(Encoding.UTF8.GetBytes(payload))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain)
            .Build());
        Assert.True(result.IsSuccess, $"publish to {topic}: {result.ReasonCode}");
    }

    private static Zigbee2MqttClient Driver(MosquittoBroker broker, IEnumerable<SensorDefinition> sensors, Sink sink, string clientId = "gw-it-zigbee")
    {
        var time = new FakeTimeProvider(T0);
        var mapper = new Zigbee2MqttMapper("zigbee2mqtt", sensors, time, NullLogger.Instance);
        return new Zigbee2MqttClient(new Zigbee2MqttOptions { Host = broker.Host, Port = broker.Port, ClientId = clientId }, mapper, e => { sink.Add(e); return Task.CompletedTask; }, time, NullLogger.Instance);
    }

    private static async Task<(Task Running, CancellationTokenSource Stop)> StartAsync(Zigbee2MqttClient driver)
    {
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        driver.Subscribed += () => subscribed.TrySetResult();
        var stop = new CancellationTokenSource();
        var running = driver.RunAsync(stop.Token);
        await subscribed.Task.WaitAsync(Bound);
        return (running, stop);
    }

    [Fact]
    public async Task The_fixture_corpus_published_through_mosquitto_yields_the_expected_events_and_the_driver_survives_bad_input()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var z2m = await Zigbee2Mqtt(broker);
        var corpus = ZigbeeCorpus.All;
        await Publish(z2m, "zigbee2mqtt/bridge/state", "{\"state\":\"online\"}", retain: true);
        await Publish(z2m, "zigbee2mqtt/bridge/devices", ZigbeeCorpus.DeviceList(corpus), retain: true);

        var sink = new Sink();
        await using var driver = Driver(broker, corpus.Select(f => f.Sensor), sink);
        var (running, stop) = await StartAsync(driver);
        using var _ = stop;

        // Interleave the devices as a real network would, with noise: an undeclared device and malformed messages.
        var expected = new Dictionary<string, List<(SensorEventType, bool?)>>();
        var rounds = corpus.Max(f => f.Messages.Count);
        for (var round = 0; round < rounds; round++)
        {
            foreach (var f in corpus.Where(f => round < f.Messages.Count))
            {
                var (payload, expect) = f.Messages[round];
                await Publish(z2m, "zigbee2mqtt/" + f.FriendlyName, payload);
                expected.TryAdd(f.Sensor.Id, []);
                expected[f.Sensor.Id].AddRange(ZigbeeCorpus.Expected(expect));
            }

            await Publish(z2m, "zigbee2mqtt/neighbour/plug", "{\"state\":\"ON\",\"linkquality\":40}");
            await Publish(z2m, "zigbee2mqtt/" + corpus[round % corpus.Count].FriendlyName, round % 2 == 0 ? "{\"contact\":" : "{\"battery\":\"full\"}");
        }

        // A sentinel: the first device repeats its last state (heard). Delivery on one subscription is in order, so once
        // it is seen, every message before it, malformed ones included, has been handled.
        var sentinel = corpus[0];
        Assert.NotEqual("press", sentinel.Messages[^1].Expect);
        await Publish(z2m, "zigbee2mqtt/" + sentinel.FriendlyName, sentinel.Messages[^1].Payload);
        expected[sentinel.Sensor.Id].Add((SensorEventType.Heard, null));

        var total = expected.Values.Sum(v => v.Count);
        await sink.WaitFor(events => events.Count(e => e.Type is SensorEventType.State or SensorEventType.Heard) >= total);

        foreach (var (sensorId, want) in expected)
        {
            var got = sink.Events.Where(e => e.SensorId == sensorId && e.Type is SensorEventType.State or SensorEventType.Heard).ToList();
            Assert.True(want.Count == got.Count, $"{sensorId}: expected {want.Count} events, got {got.Count}");
            for (var i = 0; i < want.Count; i++)
            {
                Assert.Equal(want[i].Item1, got[i].Type);
                if (want[i].Item2 is { } active)
                {
                    Assert.Equal(active, got[i].Active);
                }
            }
        }

        Assert.Equal(rounds, driver.Mapper.Rejected);
        Assert.Equal(["neighbour/plug"], driver.Mapper.UndeclaredDevices);
        Assert.True(driver.IsConnected);

        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task Messages_sent_while_the_gateway_restarts_wait_at_the_broker_and_stale_retained_state_fires_nothing()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var z2m = await Zigbee2Mqtt(broker);
        var smoke = new SensorDefinition { Id = "smoke-kitchen", Kind = SensorKind.Smoke, Room = "kitchen", Zigbee = new() { Device = "kitchen/smoke" } };
        var panic = new SensorDefinition { Id = "panic-bedroom", Kind = SensorKind.Panic, Room = "bedroom", Zigbee = new() { Device = "bedroom/sos" } };

        // A stale retained alarm state from long ago (zigbee2mqtt with retain: true for the device).
        await Publish(z2m, "zigbee2mqtt/kitchen/smoke", "{\"smoke\":true,\"battery\":70}", retain: true);

        var first = new Sink();
        await using (var driver = Driver(broker, [smoke, panic], first))
        {
            var (running, stop) = await StartAsync(driver);
            await first.WaitFor(events => events.Any(e => e.SensorId == "smoke-kitchen"));
            await stop.CancelAsync();
            await running;
            stop.Dispose();
        }

        Assert.DoesNotContain(first.Events, e => e.Type == SensorEventType.State);

        // The gateway is away: the panic button is pressed, the smoke clears. QoS 1 + persistent session: they wait.
        await Publish(z2m, "zigbee2mqtt/bedroom/sos", "{\"action\":\"emergency\",\"battery\":80}");
        await Publish(z2m, "zigbee2mqtt/kitchen/smoke", "{\"smoke\":false,\"battery\":70}");

        var second = new Sink();
        await using var again = Driver(broker, [smoke, panic], second);
        var (running2, stop2) = await StartAsync(again);
        using var __ = stop2;
        await second.WaitFor(events => events.Count(e => e.Type == SensorEventType.State) >= 3);

        var states = second.Events.Where(e => e.Type == SensorEventType.State).Select(e => (e.SensorId, e.Active)).ToList();
        Assert.Contains(("panic-bedroom", true), states);
        Assert.Contains(("panic-bedroom", false), states);
        Assert.Contains(("smoke-kitchen", false), states);
        Assert.DoesNotContain(("smoke-kitchen", true), states);

        await stop2.CancelAsync();
        await running2;
    }

    [Theory]
    [InlineData("offline", "online")]
    [InlineData("{\"state\":\"offline\"}", "{\"state\":\"online\"}")]
    public async Task Availability_and_bridge_state_become_offline_and_online_events(string offline, string online)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var z2m = await Zigbee2Mqtt(broker);
        var door = new SensorDefinition { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", Zigbee = new() { Device = "hallway/front door" } };
        var water = new SensorDefinition { Id = "water-bath", Kind = SensorKind.Water, Room = "bathroom", Zigbee = new() { Device = "bathroom/leak" } };
        await Publish(z2m, "zigbee2mqtt/bridge/state", online, retain: true);

        var sink = new Sink();
        await using var driver = Driver(broker, [door, water], sink);
        var (running, stop) = await StartAsync(driver);
        using var _ = stop;

        await Publish(z2m, "zigbee2mqtt/hallway/front door/availability", offline, retain: true);
        await sink.WaitFor(events => events.Any(e => e is { SensorId: "door-front", Type: SensorEventType.Offline }));
        await Publish(z2m, "zigbee2mqtt/hallway/front door/availability", online, retain: true);
        await sink.WaitFor(events => events.Any(e => e is { SensorId: "door-front", Type: SensorEventType.Online }));

        // zigbee2mqtt's own last will: every Zigbee sensor is unheard, a fault and not silence.
        await Publish(z2m, "zigbee2mqtt/bridge/state", offline, retain: true);
        await sink.WaitFor(events => events.Count(e => e.Type == SensorEventType.Offline && e.Detail == "zigbee2mqtt-offline") == 2);
        await Publish(z2m, "zigbee2mqtt/bridge/state", online, retain: true);
        await sink.WaitFor(events => events.Count(e => e.Type == SensorEventType.Online && e.Detail == "zigbee2mqtt-online") == 2);

        Assert.Equal(0, driver.Mapper.Rejected);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task The_gateway_turns_a_zigbee_smoke_alarm_into_an_alarm_at_the_centre_and_publishes_sensor_status_retained()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        using var z2m = await Zigbee2Mqtt(broker);
        await Publish(z2m, "zigbee2mqtt/bridge/state", "online", retain: true);

        using var centre = new MqttClientFactory().CreateMqttClient();
        var alarms = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var statuses = new ConcurrentQueue<(string Topic, string Json, bool Retain)>();
        var smokeActive = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        centre.ApplicationMessageReceivedAsync += e =>
        {
            var json = Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray());
            if (e.ApplicationMessage.Topic.EndsWith("/alarm", StringComparison.Ordinal))
            {
                alarms.TrySetResult(json);
            }
            else
            {
                statuses.Enqueue((e.ApplicationMessage.Topic, json, e.ApplicationMessage.Retain));
                if (e.ApplicationMessage.Topic.EndsWith("/smoke-kitchen", StringComparison.Ordinal) && json.Contains("\"state\":\"active\"", StringComparison.Ordinal))
                {
                    smokeActive.TrySetResult();
                }
            }

            return Task.CompletedTask;
        };
        await centre.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("centre-test").Build());
        await centre.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("care/v1/+/alarm", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("care/v1/+/sensors/+", MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());

        var clock = new FakeTimeProvider(T0);
        using var gpio = new GpioController(new SimulatedBoard());
        var config = new GatewayConfig
        {
            GatewayId = "gw-it-2",
            DataDirectory = dir.Path,
            Broker = new BrokerConfig { Host = broker.Host, Port = broker.Port },
            Board = new BoardConfig { Driver = BoardDriver.Simulated },
            Zigbee = new ZigbeeConfig { Broker = new ZigbeeBrokerConfig { Host = broker.Host, Port = broker.Port } },
            Sensors =
            [
                new SensorDefinition { Id = "smoke-kitchen", Kind = SensorKind.Smoke, Room = "kitchen", Zigbee = new() { Device = "kitchen/smoke" } },
                new SensorDefinition { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", Gpio = new() { HeaderPin = 11, Pull = PullMode.Up, Wiring = ContactWiring.NormallyClosed } },
            ],
        };
        Assert.Empty(ConfigLoader.Validate(config));
        await using var gateway = new GatewayRuntime(config, gpio, clock, NullLoggerFactory.Instance);
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Zigbee!.Subscribed += () => subscribed.TrySetResult();
        using var stop = new CancellationTokenSource();
        var running = gateway.RunAsync(stop.Token);
        await subscribed.Task.WaitAsync(Bound);

        await Publish(z2m, "zigbee2mqtt/kitchen/smoke", "{\"smoke\":true,\"battery_low\":false,\"battery\":64,\"linkquality\":99}");

        var alarm = await alarms.Task.WaitAsync(Bound);
        Assert.True(ProtocolJson.TryParseAlarm(Encoding.UTF8.GetBytes(alarm), out var parsed, out var error), error);
        Assert.Equal((AlarmType.Smoke, "smoke-kitchen", "kitchen"), (parsed.Type, parsed.SensorId, parsed.Room));

        await smokeActive.Task.WaitAsync(Bound);
        var status = statuses.Last(s => s.Topic == "care/v1/gw-it-2/sensors/smoke-kitchen");
        SchemaValidation.AssertValid("sensor", status.Json);
        Assert.Contains("\"batteryPercent\":64", status.Json, StringComparison.Ordinal);
        Assert.Contains("\"linkQuality\":99", status.Json, StringComparison.Ordinal);
        Assert.Contains(statuses, s => s.Topic == "care/v1/gw-it-2/sensors/door-front");

        // Retained: a centre that connects later still sees it.
        using var late = new MqttClientFactory().CreateMqttClient();
        var retained = new TaskCompletionSource<(string Json, bool Retain)>(TaskCreationOptions.RunContinuationsAsynchronously);
        late.ApplicationMessageReceivedAsync += e =>
        {
            retained.TrySetResult((Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray()), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };
        await late.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("centre-late").Build());
        await late.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("care/v1/gw-it-2/sensors/smoke-kitchen", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var (lateJson, isRetained) = await retained.Task.WaitAsync(Bound);
        Assert.True(isRetained);
        Assert.Contains("\"state\":\"active\"", lateJson, StringComparison.Ordinal);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task A_fake_zigbee2mqtt_going_offline_and_online_over_mosquitto_gives_one_zigbee_offline_alarm_for_40_sensors()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        using var z2m = await Zigbee2Mqtt(broker);
        await Publish(z2m, "zigbee2mqtt/bridge/state", "{\"state\":\"online\"}", retain: true);

        var clock = new FakeTimeProvider(T0);
        using var gpio = new GpioController(new SimulatedBoard());
        var config = new GatewayConfig
        {
            GatewayId = "gw-it-outage",
            DataDirectory = dir.Path,
            Broker = new BrokerConfig { Host = broker.Host, Port = broker.Port },
            Board = new BoardConfig { Driver = BoardDriver.Simulated },
            Zigbee = new ZigbeeConfig { Broker = new ZigbeeBrokerConfig { Host = broker.Host, Port = broker.Port } },
            Sensors = [.. Enumerable.Range(1, 40).Select(i => new SensorDefinition { Id = $"door-{i:00}", Kind = SensorKind.Door, Room = "hallway", Zigbee = new() { Device = $"hallway/door {i:00}" } })],
        };
        Assert.Empty(ConfigLoader.Validate(config));
        await using var gateway = new GatewayRuntime(config, gpio, clock, NullLoggerFactory.Instance);
        var seen = new ConcurrentQueue<SensorEvent>();
        var offline = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var online = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Rules.EventSeen += e =>
        {
            seen.Enqueue(e);
            if (seen.Count(x => x.Type == SensorEventType.Offline) == 40)
            {
                offline.TrySetResult();
            }

            if (seen.Count(x => x.Type == SensorEventType.Online) == 40)
            {
                online.TrySetResult();
            }
        };
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Zigbee!.Subscribed += () => subscribed.TrySetResult();
        using var stop = new CancellationTokenSource();
        var running = gateway.RunAsync(stop.Token);
        await subscribed.Task.WaitAsync(Bound);

        // zigbee2mqtt stops: its last will, retained.
        await Publish(z2m, "zigbee2mqtt/bridge/state", "{\"state\":\"offline\"}", retain: true);
        await offline.Task.WaitAsync(Bound);
        await gateway.Rules.DrainAsync().WaitAsync(Bound);
        Assert.Empty(gateway.Outbox.All()); // gathered: one alarm for the outage, not 40
        clock.Advance(RuleEngine.OutageGatherTime + TimeSpan.FromSeconds(1));
        await gateway.Rules.DrainAsync().WaitAsync(Bound);

        var alarm = Assert.Single(gateway.Outbox.All()).Alarm;
        Assert.Equal((AlarmType.ZigbeeOffline, (string?)null), (alarm.Type, alarm.SensorId));
        Assert.Contains("40 Zigbee sensors", alarm.Reason, StringComparison.Ordinal);
        Assert.Contains("door-40 (hallway)", alarm.Reason, StringComparison.Ordinal);

        await Publish(z2m, "zigbee2mqtt/bridge/state", "{\"state\":\"online\"}", retain: true);
        await online.Task.WaitAsync(Bound);
        await gateway.Rules.DrainAsync().WaitAsync(Bound);
        clock.Advance(RuleEngine.OutageGatherTime + TimeSpan.FromSeconds(1));
        await gateway.Rules.DrainAsync().WaitAsync(Bound);
        Assert.Single(gateway.Outbox.All());
        Assert.All(gateway.Health.Snapshot(), s => Assert.True(s.Online));

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }
}
