using System.Buffers;
using System.Collections.Concurrent;
using System.Device.Gpio;
using System.Text;
using System.Text.Json;
using CareGateway.Hardware;
using CareGateway.Protocol;
using CareGateway.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.IntegrationTests;

/// <summary>Commands from the centre over a real Mosquitto, to a whole gateway.</summary>
public class CommandTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_centre_sends_test_alarm_and_gets_the_test_alarm_and_an_ok_result_and_a_repeat_runs_it_only_once()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await Centre.ConnectAsync(broker, "gw-cmd-1");
        await using var gateway = await StartGatewayAsync(broker, dir, "gw-cmd-1");

        var command = new CommandMessage { CommandId = "019ab3d0-1c00-7a10-8b2c-3d4e5f607182", GatewayId = "gw-cmd-1", Command = CommandKind.TestAlarm, SentAt = DateTimeOffset.UtcNow, By = "operator-1" };
        await centre.SendAsync(command);

        var result = await centre.NextResultAsync();
        var alarm = await centre.NextAlarmAsync();
        Assert.True(result.Status == CommandStatus.Ok, result.Reason);
        Assert.Equal(command.CommandId, result.CommandId);
        Assert.Equal(AlarmType.Test, alarm.Type);
        Assert.Equal(result.AlarmId, alarm.AlarmId);
        Assert.Equal(1, alarm.Seq);

        // QoS 1 redelivery or a re-send by the centre: answered again with the same result, no second test alarm.
        await centre.SendAsync(command);
        var again = await centre.NextResultAsync();
        Assert.Equal(result.AlarmId, again.AlarmId);
        Assert.Equal(CommandStatus.Ok, again.Status);
        Assert.Equal(1, gateway.Runtime.Outbox.LastSeq);
    }

    [Fact]
    public async Task A_bad_care_profile_is_rejected_with_a_reason_and_the_old_profile_stays_and_a_good_one_then_applies()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await Centre.ConnectAsync(broker, "gw-cmd-2");
        await using var gateway = await StartGatewayAsync(broker, dir, "gw-cmd-2");
        var before = gateway.Runtime.Profile;

        await centre.SendAsync(Profile("cmd-bad", "gw-cmd-2", """{ "timeZone": "Europe/Oslo", "nightWindow": { "start": "25:00", "end": "06:00" } }"""));
        var rejected = await centre.NextResultAsync();

        Assert.Equal(CommandStatus.Rejected, rejected.Status);
        Assert.Contains("$.careProfile.nightWindow.start", rejected.Reason, StringComparison.Ordinal);
        Assert.Same(before, gateway.Runtime.Profile);
        Assert.False(File.Exists(gateway.Runtime.ProfileStore.FilePath));

        await centre.SendAsync(Profile("cmd-good", "gw-cmd-2", """{ "timeZone": "Europe/Oslo", "nightWindow": { "start": "21:00", "end": "07:30" } }"""));
        var ok = await centre.NextResultAsync();

        Assert.True(ok.Status == CommandStatus.Ok, ok.Reason);
        Assert.Equal("21:00-07:30", gateway.Runtime.Profile.NightWindow.ToString());
        Assert.True(File.Exists(gateway.Runtime.ProfileStore.FilePath));
    }

    [Fact]
    public async Task Diagnostics_come_back_over_the_broker_and_match_the_schema()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await Centre.ConnectAsync(broker, "gw-cmd-3");
        await using var gateway = await StartGatewayAsync(broker, dir, "gw-cmd-3");

        await centre.SendAsync(new CommandMessage { CommandId = "cmd-diag", GatewayId = "gw-cmd-3", Command = CommandKind.RequestDiagnostics, SentAt = DateTimeOffset.UtcNow });
        var result = await centre.NextResultAsync();

        Assert.Equal(CommandStatus.Ok, result.Status);
        Assert.NotNull(result.Diagnostics);
        Assert.Equal(("connected", "mqtt", 0, 0L), (result.Diagnostics.Connection, result.Diagnostics.Transport, result.Diagnostics.PendingAlarms, result.Diagnostics.LastSeq));
    }

    [Fact]
    public async Task The_centre_re_sends_a_command_sent_before_the_gateway_was_up_until_it_answers_and_it_runs_once()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero));
        await using var centre = new ResponseCentre.CentreCommands(new ResponseCentre.CentreOptions { Host = broker.Host, Port = broker.Port, CentreId = "centre-cmd-4" }, clock, NullLogger.Instance);
        await centre.StartAsync(CancellationToken.None);
        var command = new CommandMessage { CommandId = "cmd-offline", GatewayId = "gw-cmd-4", Command = CommandKind.TestAlarm, SentAt = clock.GetUtcNow() };

        // Sent before the gateway has ever connected: no session holds it then, so (unless the gateway subscribes before
        // the broker has the first copy) only a re-send reaches the gateway; every copy after the first is answered, not run.
        using var giveUp = new CancellationTokenSource(Bound);
        var answer = centre.SendAsync(command, TimeSpan.FromSeconds(30), giveUp.Token);
        await using var gateway = await StartGatewayAsync(broker, dir, "gw-cmd-4");
        while (!answer.IsCompleted)
        {
            clock.Advance(TimeSpan.FromSeconds(30));
            await Task.WhenAny(answer, Task.Delay(50, giveUp.Token));
        }

        var result = await answer;
        Assert.Equal((CommandStatus.Ok, "cmd-offline"), (result.Status, result.CommandId));
        Assert.Equal(1, gateway.Runtime.Outbox.LastSeq);
    }

    private static CommandMessage Profile(string id, string gatewayId, string json) => new()
    {
        CommandId = id,
        GatewayId = gatewayId,
        Command = CommandKind.ReplaceCareProfile,
        SentAt = DateTimeOffset.UtcNow,
        CareProfile = JsonDocument.Parse(json).RootElement.Clone(),
    };

    private static async Task<RunningGateway> StartGatewayAsync(MosquittoBroker broker, TempDir dir, string gatewayId)
    {
        var gpio = new GpioController(new SimulatedBoard());
        var config = new GatewayConfig
        {
            GatewayId = gatewayId,
            DataDirectory = dir.Path,
            Broker = new BrokerConfig { Host = broker.Host, Port = broker.Port },
            Board = new BoardConfig { Driver = BoardDriver.Simulated },
        };
        var runtime = new GatewayRuntime(config, gpio, new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero)), NullLoggerFactory.Instance);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        runtime.Uplink.Connected += () => connected.TrySetResult();
        var stop = new CancellationTokenSource();
        var running = runtime.RunAsync(stop.Token);
        await connected.Task.WaitAsync(Bound);
        return new RunningGateway(runtime, gpio, stop, running);
    }

    private sealed record RunningGateway(GatewayRuntime Runtime, GpioController Gpio, CancellationTokenSource Stop, Task Running) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Stop.CancelAsync();
            try
            {
                await Running.WaitAsync(Bound);
            }
            catch (OperationCanceledException)
            {
            }

            await Runtime.DisposeAsync();
            Gpio.Dispose();
            Stop.Dispose();
        }
    }

    /// <summary>The centre's side as a plain MQTT client: sends commands, collects results and alarms.</summary>
    private sealed class Centre : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private readonly BlockingCollection<CommandResultMessage> _results = [];
        private readonly BlockingCollection<AlarmMessage> _alarms = [];
        private readonly string _gatewayId;

        private Centre(string gatewayId) => _gatewayId = gatewayId;

        public static async Task<Centre> ConnectAsync(MosquittoBroker broker, string gatewayId)
        {
            var centre = new Centre(gatewayId);
            centre._client.ApplicationMessageReceivedAsync += e =>
            {
                var payload = e.ApplicationMessage.Payload.ToArray();
                if (e.ApplicationMessage.Topic == CommandTopics.Result(gatewayId))
                {
                    Assert.True(CommandJson.TryParseResult(payload, out var result, out var error), error);
                    SchemaValidation.AssertValid("command-result", Encoding.UTF8.GetString(payload));
                    centre._results.Add(result);
                }
                else if (ProtocolJson.TryParseAlarm(payload, out var alarm, out _))
                {
                    centre._alarms.Add(alarm);
                }

                return Task.CompletedTask;
            };
            await centre._client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("centre-" + gatewayId).Build());
            await centre._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(CommandTopics.Result(gatewayId), MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter(Topics.Alarm(gatewayId), MqttQualityOfServiceLevel.AtLeastOnce)
                .Build());
            return centre;
        }

        public async Task SendAsync(CommandMessage command)
        {
            SchemaValidation.AssertValid("command", Encoding.UTF8.GetString(CommandJson.Serialize(command)));
            var result = await _client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(CommandTopics.Command(_gatewayId))
                .WithPayload(CommandJson.Serialize(command))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build());
            Assert.True(result.IsSuccess);
        }

        public Task<CommandResultMessage> NextResultAsync() => Take(_results);

        public Task<AlarmMessage> NextAlarmAsync() => Take(_alarms);

        public async ValueTask DisposeAsync()
        {
            await _client.DisconnectAsync();
            _client.Dispose();
            _results.Dispose();
            _alarms.Dispose();
        }

        private static Task<T> Take<T>(BlockingCollection<T> from) =>
            Task.Run(() => from.TryTake(out var item, Bound) ? item : throw new TimeoutException($"no {typeof(T).Name} within {Bound}"));
    }
}
