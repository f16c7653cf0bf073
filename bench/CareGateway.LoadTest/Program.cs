using System.Globalization;
using System.Text.Json;
using CareGateway.LoadTest;

// care-gateway load harness (bench/run.sh runs it). Usage:
//   CareGateway.LoadTest --out FILE [--gateway PATH/care-gateway.dll] [--gateways N] [--quick] [--skip-gateway] [--skip-centre]
// Writes one JSON document with the end-to-end gateway figures and the centre-at-scale figures. Traffic stays on 127.0.0.1.
var arguments = args.ToList();
string? Option(string name)
{
    var i = arguments.IndexOf(name);
    return i >= 0 && i + 1 < arguments.Count ? arguments[i + 1] : null;
}

var quick = arguments.Contains("--quick");
var output = Option("--out") ?? "bench/results/loadtest.json";
var gatewayDll = Option("--gateway") ?? Path.Combine("gateway", "CareGateway", "bin", "Release", "net10.0", "care-gateway.dll");
var gatewayCount = int.Parse(Option("--gateways") ?? (quick ? "50" : "10000"), CultureInfo.InvariantCulture);
using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(quick ? 2 : 12));
var log = Console.Out;

GatewayResult? gateway = null;
CentreResult? centre = null;
string? gatewayError = null, centreError = null;
if (!arguments.Contains("--skip-gateway"))
{
    if (!File.Exists(gatewayDll))
    {
        gatewayError = $"{gatewayDll} not found: build gateway/CareGateway (Release) first";
    }
    else
    {
        try
        {
            gateway = await new GatewayLoadTest(Path.GetFullPath(gatewayDll), quick, log).RunAsync(cts.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or OperationCanceledException)
        {
            gatewayError = ex.Message;
        }
    }
}

if (!arguments.Contains("--skip-centre"))
{
    try
    {
        centre = await new CentreScaleTest(gatewayCount, quick, log).RunAsync(cts.Token);
    }
    catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or OperationCanceledException)
    {
        centreError = ex.Message;
    }
}

var machine = new
{
    processors = Environment.ProcessorCount,
    cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim(),
    memoryMb = File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1] is var kb ? long.Parse(kb, CultureInfo.InvariantCulture) / 1024 : 0,
    os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
    runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
};
var report = new { version = 1, at = DateTimeOffset.UtcNow, quick, machine, gateway, gatewayError, centre, centreError };
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
await File.WriteAllTextAsync(output, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
log.WriteLine($"wrote {output}");
return gatewayError is null && centreError is null ? 0 : 1;
