using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests.Cli;

public class ConfigReloaderTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void A_valid_change_is_applied_an_invalid_one_is_reported_once_with_its_paths_and_a_resave_is_ignored()
    {
        using var dir = new TempDir();
        var path = CliTestKit.WriteConfig(dir);
        var good = File.ReadAllText(path);
        var applied = new List<GatewayConfig>();
        var reported = new List<IReadOnlyList<string>>();
        var reloader = new ConfigReloader(path, ConfigLoader.Load(path), new FakeTimeProvider(), applied.Add, reported.Add);

        Assert.False(reloader.Check()); // unchanged

        File.WriteAllText(path, good.Replace("\"gatewayId\": \"gw-7\"", "\"gatewayId\": \"GW 7\"", StringComparison.Ordinal));
        Assert.False(reloader.Check());
        Assert.False(reloader.Check()); // the same broken text is reported once

        Assert.StartsWith("$.gatewayId", Assert.Single(Assert.Single(reported)), StringComparison.Ordinal);
        Assert.Empty(applied);

        File.WriteAllText(path, good.Replace("\"sensors\": []", """ "sensors": [{ "id": "bed-1", "kind": "bed", "room": "bedroom", "gpio": { "headerPin": 13 } }]""", StringComparison.Ordinal));
        Assert.True(reloader.Check());
        Assert.Equal("bed-1", Assert.Single(Assert.Single(applied).Sensors).Id);

        File.WriteAllText(path, File.ReadAllText(path) + "\n"); // saved again, same settings
        Assert.False(reloader.Check());
        Assert.Single(applied);
    }

    [Fact]
    public async Task The_file_is_looked_at_on_the_injected_clock()
    {
        using var dir = new TempDir();
        var path = CliTestKit.WriteConfig(dir);
        var time = new FakeTimeProvider();
        var applied = new TaskCompletionSource<GatewayConfig>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reloader = new ConfigReloader(path, ConfigLoader.Load(path), time, c => applied.TrySetResult(c), _ => { });
        using var stop = new CancellationTokenSource();
        var running = reloader.RunAsync(stop.Token);

        File.WriteAllText(path, File.ReadAllText(path).Replace("\"gw-7\"", "\"gw-8\"", StringComparison.Ordinal));
        time.Advance(ConfigReloader.Interval);

        Assert.Equal("gw-8", (await applied.Task.WaitAsync(Bound)).GatewayId);
        await stop.CancelAsync();
        await running.WaitAsync(Bound);
    }
}
