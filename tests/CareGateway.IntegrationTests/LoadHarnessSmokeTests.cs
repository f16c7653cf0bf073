using System.Text.Json;
using CareGateway.LoadTest;
using CareGateway.Tests;

namespace CareGateway.IntegrationTests;

/// <summary>
/// Keeps the load harness (bench/CareGateway.LoadTest) from rotting: a tiny run against a real Mosquitto and the built
/// care-gateway must write a well-formed result file. Figures are measured by bench/run.sh, never asserted here.
/// </summary>
public class LoadHarnessSmokeTests
{
    [Fact]
    public async Task A_smoke_run_writes_a_well_formed_result_file()
    {
        using var dir = new TempDir();
        var output = dir.File("loadtest.json");
        var log = new StringWriter();

        var exit = await Harness.RunAsync(
            ["--smoke", "--gateways", "20", "--out", output, "--gateway", Path.Combine(AppContext.BaseDirectory, "care-gateway.dll")],
            log);

        Assert.True(exit == 0, log.ToString());
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        var root = doc.RootElement;
        Assert.Equal("smoke", root.GetProperty("size").GetString());
        Assert.True(root.GetProperty("machine").GetProperty("processors").GetInt32() > 0);

        var gateway = root.GetProperty("gateway");
        Assert.Equal(JsonValueKind.Number, gateway.GetProperty("startToFirstAlarmMs").ValueKind);
        Assert.Equal(JsonValueKind.Number, gateway.GetProperty("idleRssMb").ValueKind);
        var phase = Assert.Single(gateway.GetProperty("phases").EnumerateArray());
        Assert.Equal(10, phase.GetProperty("alarmsExpected").GetInt32());
        Assert.Equal(phase.GetProperty("alarmsExpected").GetInt32(), phase.GetProperty("alarmsReceived").GetInt32() + phase.GetProperty("alarmsLost").GetInt32());
        Assert.Equal(JsonValueKind.Number, phase.GetProperty("latency").GetProperty("p99Ms").ValueKind);

        var centre = root.GetProperty("centre");
        Assert.Equal(20, centre.GetProperty("gatewaysConnected").GetInt32());
        var centrePhase = Assert.Single(centre.GetProperty("phases").EnumerateArray());
        Assert.Equal(centrePhase.GetProperty("published").GetInt32(), centrePhase.GetProperty("received").GetInt32() + centrePhase.GetProperty("lost").GetInt32());
    }
}
