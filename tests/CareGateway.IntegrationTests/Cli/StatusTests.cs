using System.Device.Gpio;
using System.Text.RegularExpressions;
using CareGateway.Cli;
using CareGateway.Hardware;
using CareGateway.Tests;
using CareGateway.Tests.Cli;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

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

    /// <summary>
    /// The gateway's retained reports as published (UTC with seven decimals), read at a fixed "now": people read local
    /// Oslo time with offset and durations in words; <c>--json</c> keeps ISO 8601 UTC and seconds as numbers.
    /// </summary>
    [Fact]
    public async Task Status_shows_people_local_times_and_durations_and_scripts_iso_utc_and_seconds()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, """[{ "id": "door-front", "kind": "door", "room": "hall", "gpio": { "headerPin": 11, "pull": "down" } }]""", brokerPort: broker.Port);
        var now = new DateTimeOffset(2026, 12, 7, 16, 4, 5, TimeSpan.Zero);
        await using (var publisher = await LocalMqtt.ConnectAsync(broker.Host, broker.Port, "status-publisher", null, null, CancellationToken.None))
        {
            await publisher.PublishAsync("care/v1/gw-7/sensors/door-front", """{"version":1,"gatewayId":"gw-7","sensorId":"door-front","kind":"door","room":"hall","source":"gpio","state":"inactive","online":true,"lastSeen":"2026-12-07T16:03:48.0095654+00:00","at":"2026-12-07T16:03:48.0095654+00:00"}""", CancellationToken.None, retain: true);
            await publisher.PublishAsync("care/v1/gw-7/status", """{"version":1,"gatewayId":"gw-7","state":"online","since":"2026-12-07T13:59:04.9904346+00:00","softwareVersion":"0.1.0"}""", CancellationToken.None, retain: true);
        }

        Directory.CreateDirectory(dir.File("data"));
        using (var outbox = new SqliteOutbox(Path.Combine(dir.File("data"), "outbox.db")))
        {
            var raiser = new Core.AlarmRaiser(outbox, () => new Core.CareProfile());
            await raiser.RaiseAsync(new Core.AlarmRequest(Protocol.AlarmType.Test, null, null, "status test", now - TimeSpan.FromSeconds(290)), CancellationToken.None);
        }

        var time = new FakeTimeProvider(now);
        var (code, text) = await CliTestKit.RunAsync(configPath, (c, p) => StatusCommand.RunAsync(p, c, TimeSpan.FromSeconds(10), CancellationToken.None).WaitAsync(Bound), time: time);
        var (jsonCode, json) = await CliTestKit.RunAsync(configPath, (c, p) => StatusCommand.RunAsync(p, c, TimeSpan.FromSeconds(10), CancellationToken.None).WaitAsync(Bound), json: true, time: time);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("centre connection: online since 2026-12-07 14:59:04 +01:00 (2 h 5 min)", text, StringComparison.Ordinal);
        Assert.Contains("Outbox: 1 pending, oldest 4 min 50 s old, last seq 1", text, StringComparison.Ordinal);
        Assert.Contains("2026-12-07 17:03:48 +01:00 (16 s ago)", text, StringComparison.Ordinal);
        Assert.DoesNotMatch(new Regex(@"\d\d:\d\d:\d\d\.\d|T\d\d:\d\d|\d ms\b"), text);

        Assert.Equal(ExitCodes.Ok, jsonCode);
        var status = CliTestKit.ParseJson(json);
        Assert.Equal("online since 2026-12-07T13:59:04.9904346Z", status.GetProperty("connection").GetString());
        var centre = status.GetProperty("centre");
        Assert.Equal("online", centre.GetProperty("state").GetString());
        Assert.Equal("2026-12-07T13:59:04.9904346Z", centre.GetProperty("since").GetString());
        Assert.Equal(7500, centre.GetProperty("sinceSeconds").GetInt64());
        Assert.Equal(290, status.GetProperty("outbox").GetProperty("oldestPendingSeconds").GetInt64());
        var sensor = Assert.Single(status.GetProperty("sensors").EnumerateArray());
        Assert.Equal("2026-12-07T16:03:48.0095654Z", sensor.GetProperty("lastSeen").GetString());
        Assert.Equal(16, sensor.GetProperty("lastSeenSecondsAgo").GetInt64());
    }
}
