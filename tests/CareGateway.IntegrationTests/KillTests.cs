using System.Globalization;
using CareGateway.Tests;
using CareGateway.Uplink;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>
/// The gateway process is killed with SIGKILL at random moments during a burst of thousands of alarms and started
/// again on the same data directory. Every alarm the process reported as raised (durable), and every alarm found in
/// its outbox afterwards, reaches the centre; copies carry one id; the sequence numbers have no gap.
/// </summary>
public class KillTests(ITestOutputHelper output)
{
    private const int Alarms = 3000;
    private const int Kills = 5;
    private const int Burst = 600;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Killing_the_gateway_with_sigkill_during_a_burst_loses_no_alarm()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"seed {seed}");
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(broker);
        const string gatewayId = "gw-fault-sigkill";
        var configPath = dir.File("gateway.json");
        await File.WriteAllTextAsync(configPath, ConfigLoader.Serialize(new GatewayConfig
        {
            GatewayId = gatewayId,
            DataDirectory = dir.File("data"),
            Broker = new BrokerConfig { Host = broker.Host, Port = broker.Port, ResendAfterSeconds = 1, HeartbeatSeconds = 60 },
            Board = new BoardConfig { Driver = BoardDriver.Simulated },
        }));

        var reported = new HashSet<string>(StringComparer.Ordinal);
        var kills = 0;
        while (kills < Kills)
        {
            // Kill after a random number of reported alarms, or (when the draw is the whole burst) while it drains.
            var killAfter = random.Next(1, Burst + 1);
            await using var child = ChildGateway.Start(configPath, Burst, output);
            var raisedThisRun = 0;
            while (raisedThisRun < killAfter)
            {
                var line = await child.ReadLineAsync(Bound);
                if (line.StartsWith("raised ", StringComparison.Ordinal))
                {
                    reported.Add(line["raised ".Length..]);
                    raisedThisRun++;
                }
            }

            child.Kill();
            kills++;
            output.WriteLine($"run {kills}: SIGKILL after {raisedThisRun} reported alarms; {reported.Count} reported in all");
        }

        // The last run raises what is left of the burst and is allowed to drain; then it is stopped cleanly.
        var rest = Math.Max(1, Alarms - reported.Count);
        await using (var last = ChildGateway.Start(configPath, rest, output))
        {
            string line;
            do
            {
                line = await last.ReadLineAsync(Bound);
                if (line.StartsWith("raised ", StringComparison.Ordinal))
                {
                    reported.Add(line["raised ".Length..]);
                }
            }
            while (line != "drained");
            await last.StopAsync(Bound);
        }

        using var outbox = new SqliteOutbox(Path.Combine(dir.File("data"), "outbox.db"));
        var stored = outbox.All();
        var storedIds = stored.Select(a => a.Alarm.AlarmId).ToHashSet(StringComparer.Ordinal);
        Assert.Subset(storedIds, reported);
        Assert.True(reported.Count >= Alarms, $"only {reported.Count} alarms were raised");
        Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), stored.Select(a => a.Seq));
        Assert.All(stored, a => Assert.NotNull(a.Ack));

        var extra = centre.AssertExactly(storedIds, gatewayId);
        output.WriteLine($"{kills} kills; {reported.Count} alarms reported raised, {stored.Count} in the outbox, all {centre.Copies.Count} at the centre; {extra} extra copies dropped by id");
    }
}
