using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CareGateway.LoadTest;

/// <summary>How long a run takes: a smoke run for the test suite, a quick look, or the full measurement.</summary>
internal enum RunSize
{
    Smoke,
    Quick,
    Full,
}

/// <summary>
/// The load harness's command line (bench/run.sh runs it):
/// <c>CareGateway.LoadTest --out FILE [--gateway PATH/care-gateway|PATH/care-gateway.dll] [--gateway-env NAME=VALUE ...] [--smaps FILE] [--gateways N] [--quick|--smoke] [--skip-gateway] [--skip-centre]</c>.
/// <c>--gateway</c> names the shipped form (a self-contained publish's apphost <c>care-gateway</c>, as bench/run.sh
/// publishes it) or the framework-dependent <c>care-gateway.dll</c> (started with <c>dotnet</c>); <c>--gateway-env</c>
/// (repeatable) sets an environment variable for the gateway process only, to compare runtime settings; <c>--smaps</c>
/// appends the idle gateway's resident memory by mapping (from /proc/PID/smaps) to a file.
/// Writes one JSON document with the end-to-end gateway figures and the centre-at-scale figures. Traffic stays on 127.0.0.1.
/// </summary>
internal static class Harness
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter log)
    {
        var arguments = args.ToList();
        string? Option(string name)
        {
            var i = arguments.IndexOf(name);
            return i >= 0 && i + 1 < arguments.Count ? arguments[i + 1] : null;
        }

        var size = arguments.Contains("--smoke") ? RunSize.Smoke : arguments.Contains("--quick") ? RunSize.Quick : RunSize.Full;
        var output = Option("--out") ?? Path.Combine("bench", "results", "loadtest.json");
        var gatewayDll = Option("--gateway") ?? Path.Combine("gateway", "CareGateway", "bin", "Release", "net10.0", "care-gateway.dll");
        var gatewayEnvironment = arguments.Select((a, i) => (a, i)).Where(x => x.a == "--gateway-env" && x.i + 1 < arguments.Count)
            .Select(x => arguments[x.i + 1].Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "", StringComparer.Ordinal);
        var gatewayCount = int.Parse(Option("--gateways") ?? (size == RunSize.Full ? "10000" : "50"), CultureInfo.InvariantCulture);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(size == RunSize.Full ? 12 : 2));

        GatewayResult? gateway = null;
        CentreResult? centre = null;
        string? gatewayError = null, centreError = null;
        if (!arguments.Contains("--skip-gateway"))
        {
            if (!File.Exists(gatewayDll))
            {
                gatewayError = $"{gatewayDll} not found: publish the gateway as bench/run.sh does, or build gateway/CareGateway (Release) and pass its care-gateway.dll";
            }
            else
            {
                try
                {
                    gateway = await new GatewayLoadTest(Path.GetFullPath(gatewayDll), size, log, gatewayEnvironment, Option("--smaps")).RunAsync(cts.Token);
                }
                catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or OperationCanceledException or KeyNotFoundException)
                {
                    gatewayError = ex.Message;
                }
            }
        }

        if (!arguments.Contains("--skip-centre"))
        {
            try
            {
                centre = await new CentreScaleTest(gatewayCount, size, log).RunAsync(cts.Token);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or OperationCanceledException)
            {
                centreError = ex.Message;
            }
        }

        var report = new
        {
            version = 1,
            at = DateTimeOffset.UtcNow,
            size = size.ToString().ToLowerInvariant(),
            machine = Machine(),
            gateway,
            gatewayError,
            centre,
            centreError,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(report, Json));
        await log.WriteLineAsync($"wrote {output}");
        if (gatewayError is not null || centreError is not null)
        {
            await log.WriteLineAsync($"errors: {gatewayError} {centreError}");
            return 1;
        }

        return 0;
    }

    private static object Machine() => new
    {
        processors = Environment.ProcessorCount,
        cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim(),
        memoryMb = long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024,
        os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
    };
}
