using System.Text;
using CareGateway.Sensors;
using CareGateway.Tests;
using MQTTnet;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>
/// Zigbee panic presses queued at the broker while the gateway is down are handed over in a burst when it subscribes.
/// The gateway (a child process) is killed with SIGKILL 0, 10, 30 and 50 ms after it subscribed, twice each, and
/// started again: every press still becomes exactly one alarm at the centre, because a message is acknowledged to the
/// broker only once its alarm is on disk, and a redelivered press finds its alarm still open.
/// </summary>
public class IntakeKillTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Presses_queued_while_the_gateway_was_down_survive_a_sigkill_right_after_it_subscribes()
    {
        int[] killAfterMs = [0, 10, 30, 50, 0, 10, 30, 50];
        const int pressesPerRound = 12;
        var buttons = (killAfterMs.Length + 1) * pressesPerRound;
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(broker);
        const string gatewayId = "gw-intake-kill";
        var configPath = FaultSuite.WriteZigbeeConfig(dir, gatewayId, broker.Port, broker.Port, buttons);
        using var z2m = new MqttClientFactory().CreateMqttClient();
        await z2m.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("zigbee2mqtt-fake").Build());
        await FaultSuite.PublishAsync(z2m, "zigbee2mqtt/bridge/state", "{\"state\":\"online\"}", retain: true);

        // A first run makes the gateway's persistent session (and its subscription) at the broker.
        await using (var first = ChildGateway.Start(configPath, 0, output))
        {
            await first.WaitForLineAsync("subscribed", Bound);
            await first.StopAsync(Bound);
        }

        var pressed = 0;
        foreach (var delay in killAfterMs)
        {
            for (var i = 0; i < pressesPerRound; i++)
            {
                await FaultSuite.PressAsync(z2m, pressed++);
            }

            await using var child = ChildGateway.Start(configPath, 0, output);
            await child.WaitForLineAsync("subscribed", Bound);
            if (delay > 0)
            {
                await Task.Delay(delay); // the point of the test: the instant of the kill, not a wait for an effect
            }

            child.Kill();
            output.WriteLine($"SIGKILL {delay} ms after subscribing; {pressed} presses made, {centre.Distinct.Value} alarms at the centre so far");
        }

        for (var i = 0; i < pressesPerRound; i++)
        {
            await FaultSuite.PressAsync(z2m, pressed++);
        }

        await using (var last = ChildGateway.Start(configPath, 0, output))
        {
            await centre.Distinct.WaitForAsync(pressed, Bound, "an alarm at the centre for every press");
            await last.StopAsync(Bound);
        }

        FaultSuite.AssertOneAlarmPerPress(centre, pressed);
    }
}

/// <summary>What the intake fault tests share: a gateway with many Zigbee panic buttons, and pressing them.</summary>
public static class FaultSuite
{
    /// <summary>A gateway configuration with <paramref name="buttons"/> Zigbee panic buttons <c>button/{n}</c> (sensor <c>panic-{n}</c>).</summary>
    public static string WriteZigbeeConfig(TempDir dir, string gatewayId, int centrePort, int zigbeePort, int buttons)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var config = new GatewayConfig
        {
            GatewayId = gatewayId,
            DataDirectory = dir.File("data"),
            Broker = new BrokerConfig { Host = "127.0.0.1", Port = centrePort, ResendAfterSeconds = 1, HeartbeatSeconds = 60, KeepAliveSeconds = 2, TestAlarmIntervalHours = 0 },
            Board = new BoardConfig { Driver = BoardDriver.Simulated },
            Zigbee = new ZigbeeConfig { Broker = new ZigbeeBrokerConfig { Host = "127.0.0.1", Port = zigbeePort, KeepAliveSeconds = 2 } },
            Outbox = new OutboxConfig { ReserveMegabytes = 0 },
            Sensors = [.. Enumerable.Range(0, buttons).Select(n => new SensorDefinition { Id = $"panic-{n}", Kind = SensorKind.Panic, Room = "bedroom", Zigbee = new() { Device = $"button/{n}" } })],
        };
        Assert.Empty(ConfigLoader.Validate(config));
        var path = dir.File("gateway.json");
        File.WriteAllText(path, ConfigLoader.Serialize(config));
        return path;
    }

    /// <summary>zigbee2mqtt reports a press of button <paramref name="n"/> (QoS 1: it waits at the broker while the gateway is away).</summary>
    public static Task PressAsync(IMqttClient z2m, int n) => PublishAsync(z2m, $"zigbee2mqtt/button/{n}", "{\"action\":\"emergency\",\"battery\":90,\"linkquality\":120}");

    public static async Task PublishAsync(IMqttClient z2m, string topic, string payload, bool retain = false)
    {
        ArgumentNullException.ThrowIfNull(z2m);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var result = await z2m.PublishAsync(
            new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(payload)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build(),
            deadline.Token);
        Assert.True(result.IsSuccess, $"publish to {topic}: {result.ReasonCode}");
    }

    /// <summary>Each of the first <paramref name="presses"/> buttons has exactly one alarm at the centre, and no other alarm came.</summary>
    public static void AssertOneAlarmPerPress(CentreRecorder centre, int presses)
    {
        ArgumentNullException.ThrowIfNull(centre);
        var alarms = centre.Copies.Values.Select(c => c.First()).ToList();
        Assert.All(alarms, a => Assert.Equal(Protocol.AlarmType.Panic, a.Type));
        AssertOneAlarmPerPress(alarms, presses);
    }

    /// <summary>Each of the first <paramref name="presses"/> buttons has exactly one of <paramref name="alarms"/> (first copies), and no other button has one.</summary>
    public static void AssertOneAlarmPerPress(IReadOnlyCollection<Protocol.AlarmMessage> alarms, int presses)
    {
        ArgumentNullException.ThrowIfNull(alarms);
        var bySensor = alarms.GroupBy(a => a.SensorId ?? "-").ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var missing = Enumerable.Range(0, presses).Where(n => !bySensor.ContainsKey($"panic-{n}")).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {presses} presses never became an alarm at the centre, e.g. buttons {string.Join(", ", missing.Take(10))}");
        var doubled = bySensor.Where(kv => kv.Value > 1).ToList();
        Assert.True(doubled.Count == 0, $"{doubled.Count} presses became more than one alarm, e.g. {string.Join(", ", doubled.Take(5).Select(kv => $"{kv.Key} x{kv.Value}"))}");
        Assert.Equal(presses, bySensor.Count);
    }
}
