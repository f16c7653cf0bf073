using System.Diagnostics;
using System.Globalization;
using System.Text;
using CareGateway.Cli;
using CareGateway.Tests;
using CareGateway.Tests.Cli;

namespace CareGateway.IntegrationTests.Cli;

/// <summary><c>run</c> keeps a copy of the last good configuration and starts on it, loudly, when the file is broken.</summary>
public class LastGoodConfigTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_broken_configuration_file_starts_the_gateway_on_the_last_good_copy_and_says_so()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, brokerPort: broker.Port);

        await RunUntilOnlineAsync(broker, configPath);
        var copy = Path.Combine(dir.File("data"), LastGoodConfig.FileName);
        Assert.Equal(await File.ReadAllTextAsync(configPath), await File.ReadAllTextAsync(copy));

        var good = await File.ReadAllTextAsync(configPath);
        await File.WriteAllTextAsync(configPath, good.Replace("\"gatewayId\": \"gw-7\"", "\"gatewayId\": \"GW 7!\"", StringComparison.Ordinal));
        var output = await RunUntilOnlineAsync(broker, configPath);

        Assert.Contains("$.gatewayId", output, StringComparison.Ordinal);
        Assert.Contains("RUNNING ON THE LAST GOOD CONFIGURATION from " + copy, output, StringComparison.Ordinal);
        Assert.Equal(good, await File.ReadAllTextAsync(copy)); // the broken file never replaces the good copy
    }

    [Fact]
    public async Task A_running_gateway_restarts_on_a_valid_change_and_keeps_running_through_an_invalid_one()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, brokerPort: broker.Port);
        await using var watcher = await LocalMqtt.ConnectAsync(broker.Host, broker.Port, "watch-" + Guid.NewGuid().ToString("N"), null, null, CancellationToken.None);
        await watcher.SubscribeAsync("care/v1/gw-7/status", CancellationToken.None);
        await watcher.SubscribeAsync("care/v1/gw-7/sensors/+", CancellationToken.None);
        var dll = Path.Combine(AppContext.BaseDirectory, "care-gateway.dll");
        var output = new StringBuilder();
        var rejected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Line(string? line)
        {
            lock (output)
            {
                output.AppendLine(line);
            }

            if (line?.Contains("$.gatewayId", StringComparison.Ordinal) == true)
            {
                rejected.TrySetResult();
            }
        }

        using var process = Process.Start(new ProcessStartInfo("dotnet", [dll, "run", "--config", configPath]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            Assert.NotNull(await watcher.WaitForAsync(m => m.Text.Contains("\"online\"", StringComparison.Ordinal), Bound, TimeProvider.System, CancellationToken.None));
            var good = await File.ReadAllTextAsync(configPath);

            // Invalid: logged with its path; the gateway goes on.
            await File.WriteAllTextAsync(configPath, good.Replace("\"gatewayId\": \"gw-7\"", "\"gatewayId\": \"GW 7\"", StringComparison.Ordinal));
            await rejected.Task.WaitAsync(Bound);
            Assert.False(process.HasExited, output.ToString());

            // Valid, with a new sensor: the gateway restarts on it and reports the sensor.
            await File.WriteAllTextAsync(configPath, good.Replace("\"sensors\": []", """ "sensors": [{ "id": "bed-1", "kind": "bed", "room": "bedroom", "gpio": { "headerPin": 13 } }]""", StringComparison.Ordinal));

            var sensor = await watcher.WaitForAsync(m => m.Topic == "care/v1/gw-7/sensors/bed-1", Bound, TimeProvider.System, CancellationToken.None);
            Assert.True(sensor is not null, output.ToString());
            Assert.False(process.HasExited, output.ToString());
        }
        finally
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term!.WaitForExitAsync();
            }

            await process.WaitForExitAsync().WaitAsync(Bound);
        }

        Assert.Equal(0, process.ExitCode);
        Assert.Contains("restarting the gateway on it", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_good_copy_there_is_nothing_to_fall_back_to()
    {
        using var dir = new TempDir();
        var broken = dir.File("gateway.json");
        File.WriteAllText(broken, $$"""{ "gatewayId": "", "dataDirectory": "{{dir.File("data")}}" }""");

        Assert.Null(LastGoodConfig.Recover(broken));

        Directory.CreateDirectory(dir.File("data"));
        File.WriteAllText(Path.Combine(dir.File("data"), LastGoodConfig.FileName), "{ not json");
        Assert.Null(LastGoodConfig.Recover(broken));
    }

    /// <summary>Starts <c>run</c>, waits until it reports online at the broker, stops it with SIGTERM; returns its output.</summary>
    private static async Task<string> RunUntilOnlineAsync(MosquittoBroker broker, string configPath)
    {
        await using var watcher = await LocalMqtt.ConnectAsync(broker.Host, broker.Port, "watch-" + Guid.NewGuid().ToString("N"), null, null, CancellationToken.None);
        await watcher.SubscribeAsync("care/v1/gw-7/status", CancellationToken.None);
        var dll = Path.Combine(AppContext.BaseDirectory, "care-gateway.dll");
        var output = new StringBuilder();
        using var process = Process.Start(new ProcessStartInfo("dotnet", [dll, "run", "--config", configPath]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var online = await watcher.WaitForAsync(m => !m.Retained && m.Text.Contains("\"online\"", StringComparison.Ordinal), Bound, TimeProvider.System, CancellationToken.None);
            Assert.True(online is not null, output.ToString());
        }
        finally
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term!.WaitForExitAsync();
            }

            await process.WaitForExitAsync().WaitAsync(Bound);
        }

        lock (output)
        {
            return output.ToString();
        }
    }
}
