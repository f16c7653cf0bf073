using CareGateway.Cli;
using CareGateway.Tests;
using CareGateway.Tests.Cli;

namespace CareGateway.IntegrationTests.Cli;

/// <summary><c>sensors add --zigbee</c> and <c>sensors test</c> against a real Mosquitto with a fake zigbee2mqtt answering.</summary>
public class SensorsZigbeeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static string Config(TempDir dir, MosquittoBroker broker, string sensors = "[]") => CliTestKit.WriteConfig(dir, sensors, zigbeePort: broker.Port);

    [Fact]
    public async Task Pairing_opens_the_join_window_waits_for_the_interview_closes_the_window_renames_the_device_and_adds_the_sensor()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var z2m = await FakeZigbee2Mqtt.StartAsync(broker);
        using var dir = new TempDir();
        var configPath = Config(dir, broker);

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = "door-hall", Kind = "door", Room = "hallway", Zigbee = true, JoinSeconds = 120 }, p, c, CancellationToken.None).WaitAsync(Bound), json: true);

        Assert.True(code == ExitCodes.Ok, output);
        var result = CliTestKit.ParseJson(output);
        Assert.Equal("0x00158d0001a2b3c4", result.GetProperty("ieeeAddress").GetString());
        Assert.Equal(
            [("permit_join", """{"time":120}"""), ("permit_join", """{"time":0}"""), ("device/rename", """{"from":"0x00158d0001a2b3c4","to":"door-hall"}""")],
            z2m.Requests.ToArray());
        var sensor = Assert.Single(ConfigLoader.Load(configPath).Sensors);
        Assert.Equal("door-hall", sensor.Zigbee!.Device);
        Assert.Equal("hallway", sensor.Room);
    }

    [Fact]
    public async Task When_nothing_joins_the_window_is_closed_again_nothing_is_added_and_the_technician_is_told_what_to_try()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var z2m = await FakeZigbee2Mqtt.StartAsync(broker);
        z2m.Joining = null;
        using var dir = new TempDir();
        var configPath = Config(dir, broker);

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = "door-hall", Kind = "door", Room = "hallway", Zigbee = true, JoinSeconds = 1 }, p, c, CancellationToken.None).WaitAsync(Bound));

        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.Contains("No device joined", output, StringComparison.Ordinal);
        Assert.Contains("closer to the Zigbee stick", output, StringComparison.Ordinal);
        Assert.Equal(("permit_join", """{"time":0}"""), z2m.Requests.Last());
        Assert.Empty(ConfigLoader.Load(configPath).Sensors);
    }

    [Fact]
    public async Task A_refused_join_window_is_reported_with_zigbee2mqtts_reason()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var z2m = await FakeZigbee2Mqtt.StartAsync(broker);
        z2m.PermitJoinError = "adapter disconnected";
        using var dir = new TempDir();
        var configPath = Config(dir, broker);

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = "door-hall", Kind = "door", Room = "hallway", Zigbee = true }, p, c, CancellationToken.None).WaitAsync(Bound));

        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.Contains("adapter disconnected", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_sees_a_zigbee_sensor_that_reports_through_the_local_broker()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var z2m = await FakeZigbee2Mqtt.StartAsync(broker);
        using var dir = new TempDir();
        var configPath = Config(dir, broker, """[{ "id": "door-hall", "kind": "door", "room": "hallway", "zigbee": { "device": "door-hall" } }]""");

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.TestAsync([], TimeSpan.FromSeconds(50), p, c, gpio: null, prompted: _ => z2m.PublishDeviceAsync("door-hall", """{"contact":false,"battery":91,"linkquality":120}""").GetAwaiter().GetResult(), CancellationToken.None).WaitAsync(Bound), json: true);

        Assert.True(code == ExitCodes.Ok, output);
        var only = Assert.Single(CliTestKit.ParseJson(output).GetProperty("sensors").EnumerateArray());
        Assert.True(only.GetProperty("seen").GetBoolean());
        Assert.Contains("active", only.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
