using System.Globalization;
using CareGateway.Tests;
using MQTTnet;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>
/// The fault suite: Zigbee panic presses (each on its own button, so each must become exactly one alarm) made through
/// random faults: the gateway killed with SIGKILL, the centre's broker stopped or crashed, the network path to it cut
/// (connections reset, or silently black-holed). Presses go on during every fault. At the end every press has exactly
/// one alarm at the centre. The seed is printed; <c>CARE_FAULT_SEED</c> passes it back, and <c>CARE_FAULT_PRESSES</c> and
/// <c>CARE_FAULT_FAULTS</c> set the size (default 1,000 presses through 20 faults; bench/fault-suite.sh runs a long form).
/// </summary>
public class FaultSuiteTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    private enum Fault
    {
        Kill,
        BrokerStop,
        BrokerCrash,
        CutReset,
        CutBlackhole,
    }

    [Fact]
    public async Task Presses_through_random_kills_broker_stops_and_network_cuts_each_become_exactly_one_alarm()
    {
        var seed = Env("CARE_FAULT_SEED") ?? Environment.TickCount & int.MaxValue;
        var presses = Env("CARE_FAULT_PRESSES") ?? 1000;
        var faults = Env("CARE_FAULT_FAULTS") ?? 20;
        output.WriteLine($"fault suite seed {seed} ({presses} presses, {faults} faults): CARE_FAULT_SEED={seed} repeats it");
        var random = new Random(seed);

        await using var local = await MosquittoBroker.StartAsync();   // zigbee2mqtt's broker in the home
        await using var centreBroker = await MosquittoBroker.StartAsync();
        await using var proxy = new TcpProxy(centreBroker.Port);         // the network path from the home to the centre
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(centreBroker);
        var configPath = FaultSuite.WriteZigbeeConfig(dir, "gw-fault-suite", proxy.Port, local.Port, presses);
        using var z2m = new MqttClientFactory().CreateMqttClient();
        await z2m.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(local.Host, local.Port).WithClientId("zigbee2mqtt-fake").Build());
        await FaultSuite.PublishAsync(z2m, "zigbee2mqtt/bridge/state", "{\"state\":\"online\"}", retain: true);

        var child = await StartAsync(configPath);
        try
        {
            var pressed = 0;
            var kinds = new List<Fault>();
            for (var f = 0; f <= faults; f++)
            {
                // A share of the presses before the next fault, then the fault with presses during it.
                var share = (presses - pressed) / (faults - f + 1);
                var before = random.Next(0, share + 1);
                for (var i = 0; i < before; i++)
                {
                    await PressAsync(z2m, pressed++, random);
                }

                if (f == faults)
                {
                    while (pressed < presses)
                    {
                        await PressAsync(z2m, pressed++, random);
                    }

                    break;
                }

                var fault = (Fault)random.Next(0, 5);
                kinds.Add(fault);
                var during = share - before;
                switch (fault)
                {
                    case Fault.Kill:
                        child.Kill();
                        await child.DisposeAsync();
                        for (var i = 0; i < during; i++)
                        {
                            await PressAsync(z2m, pressed++, random);
                        }

                        child = await StartAsync(configPath);
                        break;
                    case Fault.BrokerStop or Fault.BrokerCrash:
                        await centreBroker.StopAsync(kill: fault == Fault.BrokerCrash);
                        for (var i = 0; i < during; i++)
                        {
                            await PressAsync(z2m, pressed++, random);
                        }

                        await centreBroker.StartAsync();
                        break;
                    default:
                        proxy.Cut(fault == Fault.CutReset ? TcpProxy.CutMode.Reset : TcpProxy.CutMode.Blackhole);
                        for (var i = 0; i < during; i++)
                        {
                            await PressAsync(z2m, pressed++, random);
                        }

                        proxy.Restore();
                        break;
                }

                output.WriteLine($"fault {f + 1}: {fault} ({pressed} presses so far, {centre.Distinct.Value} alarms at the centre)");
            }

            await centre.Distinct.WaitForAsync(presses, Bound, $"an alarm for every press (seed {seed})");
            output.WriteLine($"{presses} presses through {faults} faults ({string.Join(", ", kinds.GroupBy(k => k).Select(g => $"{g.Count()} {g.Key}"))}); {centre.Copies.Values.Sum(c => c.Count) - centre.Copies.Count} extra copies dropped by id at the centre");
            FaultSuite.AssertOneAlarmPerPress(centre, presses);
        }
        finally
        {
            await child.DisposeAsync();
        }
    }

    /// <summary>
    /// A press, then a pause of 2-30 ms as between a resident's presses: the input's pace, which also gives each fault a
    /// length (presses go on during it), not a wait for an effect.
    /// </summary>
    private static async Task PressAsync(IMqttClient z2m, int n, Random random)
    {
        await FaultSuite.PressAsync(z2m, n);
        await Task.Delay(random.Next(2, 30));
    }

    private async Task<ChildGateway> StartAsync(string configPath)
    {
        var child = ChildGateway.Start(configPath, 0, output);
        await child.WaitForLineAsync("subscribed", Bound);
        child.DrainInBackground();
        return child;
    }

    private static int? Env(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}
