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
