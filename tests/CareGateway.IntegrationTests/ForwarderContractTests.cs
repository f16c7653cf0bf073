using System.Buffers;
using System.Collections.Concurrent;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Tests;
using CareGateway.Uplink;
using CareGateway.Uplink.IotHub;
using MQTTnet;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>
/// The forwarder's contract, the same for both transports, through a real Mosquitto: for care/v1 the test plays the
/// centre on the care/v1 topics; for IoT Hub it plays the hub's service side on the hub's topics (MQTT 3.1.1). Each
/// behaviour the forwarder owns holds on both: re-sending until <c>received</c>, the periodic test alarm and its round
/// trip, supervision (the local warning when nothing is received), the <c>gateway-fault</c> alarm when the store is
/// full, and pruning of delivered alarms.
/// </summary>
public class ForwarderContractTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public static TheoryData<string> Transports => ["mqtt", "iot-hub"];

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task An_alarm_is_sent_again_until_received_and_then_no_more(string transport)
    {
        await using var rig = await Rig.StartAsync(transport, output, answer: false);
        var alarm = await rig.RaiseAsync(AlarmType.Panic);
        await rig.Copies.WaitForAsync(2, Bound, "a first copy and a re-send");
        Assert.All(rig.Received, a => Assert.Equal(alarm.AlarmId, a.AlarmId));
        Assert.Contains(rig.Received, a => a.Attempt >= 2);

        rig.Answering = true;
        await rig.Acks.WaitForAsync(1, Bound, "'received' recorded");
        Assert.Equal(AckState.Received, rig.Outbox.Find(alarm.AlarmId)!.Ack);
        Assert.Equal(0, rig.Outbox.PendingCount);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task The_periodic_test_alarm_goes_out_and_its_round_trip_is_reported(string transport)
    {
        await using var rig = await Rig.StartAsync(transport, output, answer: true, o => o with { TestAlarmInterval = TimeSpan.FromMilliseconds(300) });
        var answered = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Forwarder.TestAlarmAnswered += (_, rtt) => answered.TrySetResult(rtt);
        Assert.True(await answered.Task.WaitAsync(Bound) > TimeSpan.Zero);
        Assert.Contains(rig.Received, a => a.Type == AlarmType.Test);
        Assert.NotNull(rig.Forwarder.Diagnostics.LastTestAlarmRoundTrip);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_centre_that_never_answers_turns_on_the_local_warning(string transport)
    {
        await using var rig = await Rig.StartAsync(transport, output, answer: false, o => o with { ReceivedTimeout = TimeSpan.FromSeconds(1), SupervisionInterval = TimeSpan.FromMilliseconds(100) });
        var on = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Forwarder.LocalWarningChanged += (w, active, _) =>
        {
            if (w == LocalWarning.CentreUnreachable && active)
            {
                on.TrySetResult();
            }
        };
        await rig.RaiseAsync(AlarmType.Fall);
        await on.Task.WaitAsync(Bound);
        Assert.Contains(LocalWarning.CentreUnreachable, rig.Forwarder.Diagnostics.ActiveWarnings);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_store_over_its_bound_raises_one_gateway_fault_alarm_that_reaches_the_centre(string transport)
    {
        await using var rig = await Rig.StartAsync(transport, output, answer: false, policy: new OutboxPolicy { MaxBytes = 64 * 1024, EmergencyGrowthBytes = 16 * 1024, ReserveBytes = 0 });
        for (var i = 0; i < 400 && !rig.Received.Any(a => a.Type == AlarmType.GatewayFault); i++)
        {
            await rig.RaiseAsync(AlarmType.LowBattery, reason: new string('x', 400));
        }

        await rig.WaitForAsync(a => a.Type == AlarmType.GatewayFault, "the gateway-fault alarm at the centre");
        Assert.Contains(LocalWarning.StorageProblem, rig.Forwarder.Diagnostics.ActiveWarnings);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Delivered_alarms_are_pruned_after_the_retention(string transport)
    {
        await using var rig = await Rig.StartAsync(transport, output, answer: true, o => o with { PruneInterval = TimeSpan.FromMilliseconds(200) }, new OutboxPolicy { DeliveredRetention = TimeSpan.FromMilliseconds(1), ReserveBytes = 0 });
        var alarm = await rig.RaiseAsync(AlarmType.Water);
        await rig.Acks.WaitForAsync(1, Bound, "'received' recorded");
        var deadline = DateTime.UtcNow + Bound;
        while (rig.Outbox.Find(alarm.AlarmId) is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the delivered alarm was not pruned");
            await Task.Delay(50);
        }

        Assert.Equal(1, rig.Outbox.LastSeq);
    }

    /// <summary>A forwarder over one transport, a broker, and the test playing the centre (or the hub's service side).</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private const string GatewayId = "gw-contract";
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<AlarmMessage> _received = new();
        private MosquittoBroker _broker = null!;
        private IMqttClient _centre = null!;
        private TempDir _dir = null!;
        private Task _running = Task.CompletedTask;
        private string _transport = "mqtt";

        public Forwarder Forwarder { get; private set; } = null!;

        public SqliteOutbox Outbox { get; private set; } = null!;

        public AlarmRaiser Raiser { get; private set; } = null!;

        public Counter Copies { get; } = new();

        public Counter Acks { get; } = new();

        public IReadOnlyCollection<AlarmMessage> Received => _received;

        public volatile bool Answering;

        public static async Task<Rig> StartAsync(string transport, ITestOutputHelper output, bool answer, Func<ForwarderOptions, ForwarderOptions>? adjust = null, OutboxPolicy? policy = null)
        {
            var rig = new Rig { _transport = transport, Answering = answer };
            rig._broker = await MosquittoBroker.StartAsync();
            rig._dir = new TempDir();
            rig.Outbox = new SqliteOutbox(rig._dir.File("outbox.db"), policy ?? new OutboxPolicy { ReserveBytes = 0 }, new TestOutputLogger(output, "outbox"));
            rig.Raiser = new AlarmRaiser(rig.Outbox, () => new CareProfile());
            var log = new TestOutputLogger(output, transport);
            var forwarding = (adjust ?? (o => o))(new ForwarderOptions { GatewayId = GatewayId, ResendAfter = TimeSpan.FromSeconds(1), TestAlarmInterval = null });
            IUplinkTransport link = transport == "mqtt"
                ? new CareMqttTransport(new UplinkOptions { GatewayId = GatewayId, Host = rig._broker.Host, Port = rig._broker.Port, KeepAlive = TimeSpan.FromSeconds(2) }, TimeProvider.System, log)
                : new IotHubTransport(new IotHubOptions { GatewayId = GatewayId, HostName = "hub.example", DeviceId = GatewayId, SharedAccessKey = Convert.ToBase64String(new byte[32]), ConnectHost = rig._broker.Host, Port = rig._broker.Port, UseTls = false }, TimeProvider.System, log);
            rig.Forwarder = new Forwarder(forwarding, link, rig.Outbox, rig.Raiser, TimeProvider.System, log);
            rig.Raiser.Stored += (_, _) => rig.Forwarder.NotifyNewAlarm();
            rig.Forwarder.AckReceived += (_, _) => rig.Acks.Increment();
            await rig.StartCentreAsync();
            var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            rig.Forwarder.Connected += () => connected.TrySetResult();
            rig._running = rig.Forwarder.RunAsync(rig._stop.Token);
            await connected.Task.WaitAsync(Bound);
            return rig;
        }

        public Task<NewAlarm> RaiseAsync(string type, string reason = "contract test") =>
            Raiser.RaiseAsync(new AlarmRequest(type, "s-1", "hallway", reason, DateTimeOffset.UtcNow), CancellationToken.None);

        public async Task WaitForAsync(Func<AlarmMessage, bool> match, string what)
        {
            while (!_received.Any(match))
            {
                await Copies.WaitForAsync(Copies.Value + 1, Bound, what);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _running.WaitAsync(Bound).ContinueWith(_ => { }, TaskScheduler.Default);
            await Forwarder.DisposeAsync();
            Outbox.Dispose();
            _centre.Dispose();
            await _broker.DisposeAsync();
            _dir.Dispose();
            _stop.Dispose();
        }

        /// <summary>The centre: takes each alarm and, while answering, sends 'received' the transport's way.</summary>
        private async Task StartCentreAsync()
        {
            var mqtt = _transport == "mqtt";
            _centre = new MqttClientFactory().CreateMqttClient();
            _centre.ApplicationMessageReceivedAsync += async e =>
            {
                if (!mqtt && !e.ApplicationMessage.Topic.Contains("messageType=alarm", StringComparison.Ordinal))
                {
                    return;
                }

                if (!ProtocolJson.TryParseAlarm(e.ApplicationMessage.Payload.ToArray(), out var alarm, out _))
                {
                    return;
                }

                _received.Enqueue(alarm);
                Copies.Increment();
                if (Answering)
                {
                    var ack = new AckMessage { AlarmId = alarm.AlarmId, GatewayId = GatewayId, State = AckState.Received, By = "centre-contract", At = DateTimeOffset.UtcNow };
                    var topic = mqtt ? Topics.Ack(GatewayId) : $"devices/{GatewayId}/messages/devicebound/messageType=ack";
                    await _centre.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(ProtocolJson.Serialize(ack)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                }
            };
            using var deadline = new CancellationTokenSource(Bound);
            await _centre.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(_broker.Host, _broker.Port).WithClientId("centre-contract").Build(), deadline.Token);
            await _centre.SubscribeAsync(mqtt ? Topics.Alarm(GatewayId) : $"devices/{GatewayId}/messages/events/#", MqttQualityOfServiceLevel.AtLeastOnce, deadline.Token);
        }
    }
}
