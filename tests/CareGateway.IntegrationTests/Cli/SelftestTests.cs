using System.Device.Gpio;
using CareGateway.Cli;
using CareGateway.Hardware;
using CareGateway.ResponseCentre;
using CareGateway.Tests;
using CareGateway.Tests.Cli;
using Microsoft.Extensions.Logging.Abstractions;

namespace CareGateway.IntegrationTests.Cli;

/// <summary><c>selftest</c> against a real Mosquitto, the gateway service running, and the repo's CentreReceiver answering.</summary>
public class SelftestTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private static string Config(TempDir dir, MosquittoBroker broker) =>
        CliTestKit.WriteConfig(dir, """[{ "id": "door-front", "kind": "door", "room": "hall", "gpio": { "headerPin": 11, "pull": "down" } }]""", brokerPort: broker.Port);

    [Fact]
    public async Task With_the_service_running_and_the_centre_answering_every_check_passes_and_the_test_alarm_reaches_the_centre()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = Config(dir, broker);
        await using var centre = new CentreReceiver(new CentreOptions { Host = broker.Host, Port = broker.Port, CentreId = "centre-selftest" }, TimeProvider.System, NullLogger.Instance);
        await centre.StartAsync(CancellationToken.None);
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        centre.AlarmReceived += (a, _) => received.TrySetResult(a.Alarm.Type);

        using var gpio = new GpioController(new SimulatedBoard());
        await using var runtime = new GatewayRuntime(ConfigLoader.Load(configPath), gpio, TimeProvider.System, NullLoggerFactory.Instance);
        var statusPublished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        runtime.SensorStatus!.Published += _ => statusPublished.TrySetResult();
        using var stop = new CancellationTokenSource();
        var running = runtime.RunAsync(stop.Token);
        await statusPublished.Task.WaitAsync(Bound);

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SelftestCommand.RunAsync(new SelftestOptions { TimeSync = () => "yes", AckTimeout = TimeSpan.FromSeconds(60) }, p, c, CancellationToken.None).WaitAsync(Bound), json: true);

        await stop.CancelAsync();
        await running.WaitAsync(Bound).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.True(code == ExitCodes.Ok, output);
        var checks = CliTestKit.ParseJson(output).GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("result").GetString());
        Assert.Equal(["board", "disk reserve", "time sync", "broker reachable", "gateway service", "sensor door-front", "centre answered"], checks.Keys);
        Assert.All(checks.Values, r => Assert.Equal("ok", r));
        Assert.Equal("test", await received.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task Without_the_service_the_report_says_so_sends_no_test_alarm_and_exits_with_1()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = Config(dir, broker);

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SelftestCommand.RunAsync(new SelftestOptions { TimeSync = () => null, StatusTimeout = TimeSpan.FromSeconds(1) }, p, c, CancellationToken.None).WaitAsync(Bound));

        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.Contains("systemctl start care-gateway", output, StringComparison.Ordinal);
        Assert.Contains("not sent: the gateway service is not connected", output, StringComparison.Ordinal);
        Assert.Contains("cannot tell (no timedatectl)", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir.File("data"), "outbox.db")));
    }

    [Fact]
    public async Task An_unreachable_broker_fails_the_broker_check_with_what_to_check()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, brokerPort: 1);

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SelftestCommand.RunAsync(new SelftestOptions { TimeSync = () => "no" }, p, c, CancellationToken.None).WaitAsync(Bound), json: true);

        Assert.Equal(ExitCodes.CheckFailed, code);
        var checks = CliTestKit.ParseJson(output).GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("result").GetString());
        Assert.Equal("failed", checks["broker reachable"]);
        Assert.Equal("failed", checks["time sync"]);
        Assert.Equal("failed", checks["centre answered"]);
    }

    /// <summary>
    /// The service runs and the broker answers, but no centre listens: the broker check passes and says nothing of the
    /// centre, the centre check fails once its (short) timeout has passed, and each waiting check says so when it starts.
    /// </summary>
    [Fact]
    public async Task With_the_broker_up_and_no_centre_broker_reachable_is_ok_and_centre_answered_fails_after_its_timeout()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = Config(dir, broker);
        using var gpio = new GpioController(new SimulatedBoard());
        await using var runtime = new GatewayRuntime(ConfigLoader.Load(configPath), gpio, TimeProvider.System, NullLoggerFactory.Instance);
        var statusPublished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        runtime.SensorStatus!.Published += _ => statusPublished.TrySetResult();
        using var stop = new CancellationTokenSource();
        var running = runtime.RunAsync(stop.Token);
        await statusPublished.Task.WaitAsync(Bound);

        var options = new SelftestOptions { TimeSync = () => "yes", AckTimeout = TimeSpan.FromSeconds(2), ProgressEvery = TimeSpan.FromSeconds(1) };
        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SelftestCommand.RunAsync(options, p, c, CancellationToken.None).WaitAsync(Bound));
        var (jsonCode, json) = await CliTestKit.RunAsync(configPath, (c, p) => SelftestCommand.RunAsync(options, p, c, CancellationToken.None).WaitAsync(Bound), json: true);

        await stop.CancelAsync();
        await running.WaitAsync(Bound).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.Contains($"waiting for the centre's broker at 127.0.0.1:{broker.Port} to accept this gateway (up to 10 s)…", output, StringComparison.Ordinal);
        Assert.Contains($"ok  broker reachable (up to 10 s): connected to 127.0.0.1:{broker.Port} without TLS", output, StringComparison.Ordinal);
        Assert.Contains("waiting for the gateway service's status at the broker (up to 5 s)…", output, StringComparison.Ordinal);
        Assert.Contains("ok  gateway service (up to 5 s): running and connected to the centre's broker since ", output, StringComparison.Ordinal);
        Assert.Contains("waiting for the centre to answer (up to 2 s)…", output, StringComparison.Ordinal);
        Assert.Contains("still waiting for the centre: 1 s of 2 s…", output, StringComparison.Ordinal);
        Assert.Contains("FAILED  centre answered (up to 2 s): no answer: test alarm ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("connected to the centre ", output, StringComparison.Ordinal);

        Assert.Equal(ExitCodes.CheckFailed, jsonCode);
        var checks = CliTestKit.ParseJson(json).GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal("ok", checks["broker reachable"].GetProperty("result").GetString());
        Assert.Equal(10, checks["broker reachable"].GetProperty("timeoutSeconds").GetInt32());
        Assert.Equal("ok", checks["gateway service"].GetProperty("result").GetString());
        Assert.Equal("failed", checks["centre answered"].GetProperty("result").GetString());
        Assert.Equal(2, checks["centre answered"].GetProperty("timeoutSeconds").GetInt32());
    }
}
