using System.Text.Json;
using CareGateway.LoadTest;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// Keeps the centre-service benchmark (bench/CareGateway.LoadTest, <c>centre-service</c>) from rotting: a tiny run of
/// the built response-centre service as a child process against a real Mosquitto must write a well-formed result file
/// whose counts add up. Figures are measured by bench/run.sh, never asserted here.
/// </summary>
public class CentreServiceBenchSmokeTests
{
    [Fact]
    public async Task A_smoke_run_of_the_real_service_writes_a_well_formed_result_file()
    {
        using var dir = new TempDir();
        var output = dir.File("centre-service.json");
        var log = new StringWriter();

        var exit = await CentreServiceTest.MainAsync(
            ["--smoke", "--gateways", "20", "--no-postgres", "--out", output, "--service", Path.Combine(AppContext.BaseDirectory, "response-centre.dll")],
            log);

        Assert.True(exit == 0, log.ToString());
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        var run = Assert.Single(doc.RootElement.GetProperty("runs").EnumerateArray());
        Assert.Equal("sqlite", run.GetProperty("provider").GetString());
        Assert.Equal(JsonValueKind.Null, run.GetProperty("error").ValueKind);
        Assert.Equal(20, run.GetProperty("gatewaysConnected").GetInt32());
        var phase = Assert.Single(run.GetProperty("phases").EnumerateArray());
        var published = phase.GetProperty("published").GetInt32();
        Assert.Equal(20, published);
        Assert.Equal(published, phase.GetProperty("stored").GetInt32() + phase.GetProperty("lost").GetInt32());
        Assert.Equal(0, phase.GetProperty("ackedNotStored").GetInt32());
        Assert.Equal(JsonValueKind.Number, phase.GetProperty("latency").GetProperty("p50Ms").ValueKind);
        Assert.Equal(JsonValueKind.Number, phase.GetProperty("intake").GetProperty("commits").ValueKind);
    }
}
