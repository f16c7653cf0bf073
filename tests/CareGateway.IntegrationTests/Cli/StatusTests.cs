using System.Device.Gpio;
using CareGateway.Cli;
using CareGateway.Hardware;
using CareGateway.Tests;
using CareGateway.Tests.Cli;
using Microsoft.Extensions.Logging.Abstractions;

namespace CareGateway.IntegrationTests.Cli;

/// <summary><c>status</c> reads the running gateway's retained reports at a real Mosquitto and its outbox.</summary>
public class StatusTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Status_shows_the_connection_each_sensors_report_and_the_outbox_backlog()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, """[{ "id": "door-front", "kind": "door", "room": "hall", "gpio": { "headerPin": 11, "pull": "down" } }]""", brokerPort: broker.Port);
        using var gpio = new GpioController(new SimulatedBoard());
        await using var runtime = new GatewayRuntime(ConfigLoader.Load(configPath), gpio, TimeProvider.System, NullLoggerFactory.Instance);
        var statusPublished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        runtime.SensorStatus!.Published += _ => statusPublished.TrySetResult();
        using var stop = new CancellationTokenSource();
        var running = runtime.RunAsync(stop.Token);
        await statusPublished.Task.WaitAsync(Bound);
        // Nobody acknowledges: the alarm stays pending in the outbox.
        await runtime.Raiser.RaiseAsync(new Core.AlarmRequest(Protocol.AlarmType.Test, null, null, "status test", DateTimeOffset.UtcNow), CancellationToken.None);

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => StatusCommand.RunAsync(p, c, TimeSpan.FromSeconds(10), CancellationToken.None).WaitAsync(Bound), json: true);

        await stop.CancelAsync();
        await running.WaitAsync(Bound).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.Equal(ExitCodes.Ok, code);
        var status = CliTestKit.ParseJson(output);
        Assert.StartsWith("online since", status.GetProperty("connection").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, status.GetProperty("outbox").GetProperty("pending").GetInt32());
        Assert.Equal(1, status.GetProperty("outbox").GetProperty("lastSeq").GetInt64());
        var sensor = Assert.Single(status.GetProperty("sensors").EnumerateArray());
        Assert.Equal("inactive", sensor.GetProperty("state").GetString());
        Assert.True(sensor.GetProperty("online").GetBoolean());
        Assert.NotNull(sensor.GetProperty("lastSeen").GetString());
    }
}
