using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CareGateway.LoadTest;

/// <summary>
/// <c>CareGateway.LoadTest report --micro DIR --load FILE --json OUT --md OUT [--centre-service FILE]</c>: merges
/// BenchmarkDotNet's JSON reports, the load harness's result and the real centre service's result into one <c>latest.json</c>, and writes a Markdown summary with every target
/// of issue 8 marked met or missed.
/// </summary>
internal static class Report
{
    public static int Write(string microDir, string loadFile, string jsonOut, string mdOut, string? centreServiceFile = null)
    {
        var micro = new JsonArray();
        if (Directory.Exists(microDir))
        {
            foreach (var file in Directory.EnumerateFiles(microDir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var doc = JsonNode.Parse(File.ReadAllText(file));
                foreach (var b in doc?["Benchmarks"]?.AsArray() ?? [])
                {
                    var parameters = b?["Parameters"]?.GetValue<string>();
                    micro.Add(new JsonObject
                    {
                        ["benchmark"] = $"{b?["Type"]}.{b?["Method"]}" + (string.IsNullOrEmpty(parameters) ? "" : $" ({parameters})"),
                        ["meanNs"] = Num(b?["Statistics"]?["Mean"]),
                        ["medianNs"] = Num(b?["Statistics"]?["Median"]),
                        ["allocatedBytes"] = Num(b?["Memory"]?["BytesAllocatedPerOperation"]),
                    });
                }
            }
        }

        var load = File.Exists(loadFile) ? JsonNode.Parse(File.ReadAllText(loadFile))!.AsObject() : new JsonObject { ["error"] = $"{loadFile} missing" };
        var root = new JsonObject
        {
            ["version"] = 1,
            ["at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["machine"] = load["machine"]?.DeepClone(),
            ["micro"] = micro,
            ["load"] = load.DeepClone(),
        };
        if (centreServiceFile is not null)
        {
            root["centreService"] = File.Exists(centreServiceFile)
                ? JsonNode.Parse(File.ReadAllText(centreServiceFile))
                : new JsonObject { ["error"] = $"{centreServiceFile} missing" };
        }

        root["targets"] = Targets(load);
        foreach (var t in CentreServiceTargets(root["centreService"]))
        {
            root["targets"]!.AsArray().Add(t);
        }

        File.WriteAllText(jsonOut, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(mdOut, Markdown(root));
        return 0;
    }

    private static double? Num(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? Math.Round(d, 2) : null;

    private static JsonArray Targets(JsonObject load)
    {
        var gateway = load["gateway"];
        var centre = load["centre"];
        JsonNode? Phase(string name) => gateway?["phases"]?.AsArray().FirstOrDefault(p => p?["name"]?.GetValue<string>() == name);
        double? P99(string name) => Num(Phase(name)?["latency"]?["p99Ms"]);
        var centreBest = centre?["phases"]?.AsArray().Where(p => Num(p?["lost"]) == 0).Select(p => Num(p?["ingestedPerSecond"]) ?? 0).DefaultIfEmpty(0).Max();
        var list = new (string Target, string Goal, double? Value, bool Met)[]
        {
            ("p99 sensor-to-centre latency at 100 events/s (ms)", "<= 1.5", P99("100/s"), P99("100/s") is <= 1.5 && Num(Phase("100/s")?["alarmsLost"]) == 0),
            ("p99 sensor-to-centre latency at 1,000 events/s (ms)", "<= 1.5", P99("1000/s"), P99("1000/s") is <= 1.5 && Num(Phase("1000/s")?["alarmsLost"]) == 0),
            ("sensor events/s sustained without loss or growing latency", ">= 20000", Num(gateway?["highestSustainedEventsPerSecond"]), Num(gateway?["highestSustainedEventsPerSecond"]) >= 20000),
            ("gateway resident memory idle (MB)", "< 40", Num(gateway?["idleRssMb"]), Num(gateway?["idleRssMb"]) < 40),
            ("gateway resident memory under load, peak (MB)", "< 60", Num(gateway?["peakRssMb"]), Num(gateway?["peakRssMb"]) < 60),
            ("first alarm delivered after process start (ms)", "<= 500", Num(gateway?["startToFirstAlarmMs"]), Num(gateway?["startToFirstAlarmMs"]) <= 500),
            ("centre: gateways connected", ">= 10000", Num(centre?["gatewaysConnected"]), Num(centre?["gatewaysConnected"]) >= 10000),
            ("centre: alarms/s ingested without loss", ">= 2000", centreBest, centreBest >= 2000),
        };
        var array = new JsonArray();
        foreach (var (target, goal, value, met) in list)
        {
            array.Add(new JsonObject { ["target"] = target, ["goal"] = goal, ["measured"] = value, ["met"] = met });
        }

        return array;
    }

    /// <summary>
    /// The centre target measured on the real service (CentreServiceTest), per database: the highest rate up to which every
    /// alarm was stored once, none lost, and the service kept up (stored at 95 % of the rate offered or more); and the
    /// highest up to which every phase was also sustained (p99 publish-to-received at most 250 ms).
    /// </summary>
    private static IEnumerable<JsonObject> CentreServiceTargets(JsonNode? service)
    {
        foreach (var run in service?["runs"]?.AsArray() ?? [])
        {
            var provider = run?["provider"]?.GetValue<string>() ?? "?";
            // The highest rate up to which every phase (in order, rising) passed: a lower rate that failed is not hidden.
            var phases = run?["phases"]?.AsArray().ToList() ?? [];
            var kept = phases
                .TakeWhile(p => Num(p?["lost"]) == 0 && Num(p?["duplicates"]) == 0 && Num(p?["storedPerSecond"]) >= 0.95 * (Num(p?["alarmsPerSecond"]) ?? 0))
                .Select(p => Num(p?["alarmsPerSecond"]) ?? 0).DefaultIfEmpty(0).Max();
            var sustained = phases
                .TakeWhile(p => p?["verdict"]?.GetValue<string>() == "sustained")
                .Select(p => Num(p?["alarmsPerSecond"]) ?? 0).DefaultIfEmpty(0).Max();
            var connected = Num(run?["gatewaysConnected"]);
            yield return new JsonObject { ["target"] = $"centre service ({provider}): gateways connected, heartbeats answered", ["goal"] = ">= 10000", ["measured"] = connected, ["met"] = connected >= 10000 && Num(run?["heartbeatsAnswered"]) > 0 };
            yield return new JsonObject { ["target"] = $"centre service ({provider}): alarms/s stored once, none lost, keeping up", ["goal"] = ">= 2000", ["measured"] = kept, ["met"] = kept >= 2000 };
            yield return new JsonObject { ["target"] = $"centre service ({provider}): alarms/s stored, and p99 publish-to-received <= 250 ms", ["goal"] = ">= 2000", ["measured"] = sustained, ["met"] = sustained >= 2000 };
        }
    }

    private static string F(JsonNode? n) => n switch
    {
        null => "-",
        JsonValue v when v.TryGetValue<double>(out var d) => d.ToString("0.###", CultureInfo.InvariantCulture),
        _ => n.ToString(),
    };

    private static string Markdown(JsonObject root)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        var m = root["machine"];
        md.AppendLine(inv, $"# Benchmark results ({root["at"]})").AppendLine();
        md.AppendLine(inv, $"Machine: {F(m?["processors"])} cores, {F(m?["cpu"])}, {F(m?["memoryMb"])} MB, {F(m?["os"])}, {F(m?["runtime"])}. Run size: {F(root["load"]?["size"])}.").AppendLine();
        md.AppendLine("## Targets (issue 8)").AppendLine().AppendLine("| Target | Goal | Measured | Met |").AppendLine("|---|---|---|---|");
        foreach (var t in root["targets"]!.AsArray())
        {
            md.AppendLine(inv, $"| {F(t?["target"])} | {F(t?["goal"])} | {F(t?["measured"])} | {(t?["met"]?.GetValue<bool>() == true ? "met" : "**missed**")} |");
        }

        md.AppendLine().AppendLine("## Micro benchmarks").AppendLine().AppendLine("| Benchmark | Mean | Allocated |").AppendLine("|---|---:|---:|");
        foreach (var b in root["micro"]!.AsArray())
        {
            var ns = Num(b?["meanNs"]);
            var mean = ns is null ? "-" : ns >= 1_000_000 ? $"{ns / 1_000_000:0.00} ms" : ns >= 1000 ? $"{ns / 1000:0.00} us" : $"{ns:0.0} ns";
            md.AppendLine(inv, $"| {F(b?["benchmark"])} | {mean} | {F(b?["allocatedBytes"])} B |");
        }

        var g = root["load"]?["gateway"];
        md.AppendLine().AppendLine("## Gateway end to end (sensor message -> alarm at the centre)").AppendLine();
        if (g is null)
        {
            md.AppendLine(inv, $"Not measured: {F(root["load"]?["gatewayError"])}");
        }
        else
        {
            md.AppendLine(inv, $"Start to first alarm delivered: {F(g["startToFirstAlarmMs"])} ms. Resident memory: idle {F(g["idleRssMb"])} MB ({F(g["idleRssAnonMb"])} MB anonymous, {F(g["idleRssFileMb"])} MB file-backed, {F(g["idleRssShmemMb"])} MB shared), gateway started as `{F(g["gatewayCommand"])}`, under load {F(g["loadRssMb"])} MB, peak (VmHWM) {F(g["peakRssMb"])} MB. Highest rate sustained: {F(g["highestSustainedEventsPerSecond"])} events/s. Alarms lost: {F(g["alarmsLostTotal"])}.").AppendLine();
            md.AppendLine("| Phase | Events | Alarm every | Achieved/s | Alarms | Received | Lost | p50 ms | p99 ms | max ms | RSS after, MB | Gateway CPU us/event | Context switches/event | Verdict |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var p in g["phases"]!.AsArray())
            {
                md.AppendLine(inv, $"| {F(p?["name"])} | {F(p?["eventsSent"])} | {F(p?["alarmEvery"])} | {F(p?["achievedEventsPerSecond"])} | {F(p?["alarmsExpected"])} | {F(p?["alarmsReceived"])} | {F(p?["alarmsLost"])} | {F(p?["latency"]?["p50Ms"])} | {F(p?["latency"]?["p99Ms"])} | {F(p?["latency"]?["maxMs"])} | {F(p?["rssAfterMb"])} | {F(p?["gatewayCpuUsPerEvent"])} | {F(p?["gatewaySwitchesPerEvent"])} | {F(p?["verdict"])} |");
            }
        }

        var c = root["load"]?["centre"];
        md.AppendLine().AppendLine("## Centre at scale (simulated gateways -> Mosquitto -> shared subscription)").AppendLine();
        if (c is null)
        {
            md.AppendLine(inv, $"Not measured: {F(root["load"]?["centreError"])}");
        }
        else
        {
            md.AppendLine(inv, $"Gateways connected: {F(c["gatewaysConnected"])} of {F(c["gatewaysTarget"])} in {F(c["connectSeconds"])} s{(string.IsNullOrEmpty(c["connectFailure"]?.ToString()) ? "" : $" (stopped: {c["connectFailure"]})")}; heartbeat every {F(c["heartbeatSeconds"])} s each; {F(c["centreSubscribers"])} centre subscribers. Mosquitto RSS {F(c["brokerRssMb"])} MB (peak {F(c["brokerPeakRssMb"])} MB); simulator RSS {F(c["simulatorRssMb"])} MB.").AppendLine();
            md.AppendLine("| Alarms/s offered | Published | Achieved/s | Received | Ingested/s | Lost | p50 ms | p99 ms | max ms | Verdict |").AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var p in c["phases"]!.AsArray())
            {
                md.AppendLine(inv, $"| {F(p?["alarmsPerSecond"])} | {F(p?["published"])} | {F(p?["achievedPublishPerSecond"])} | {F(p?["received"])} | {F(p?["ingestedPerSecond"])} | {F(p?["lost"])} | {F(p?["latency"]?["p50Ms"])} | {F(p?["latency"]?["p99Ms"])} | {F(p?["latency"]?["maxMs"])} | {F(p?["verdict"])} |");
            }
        }

        CentreServiceMarkdown(md, root["centreService"]);
        return md.ToString();
    }

    private static void CentreServiceMarkdown(StringBuilder md, JsonNode? service)
    {
        if (service is null)
        {
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        md.AppendLine().AppendLine("## Centre at scale, the real response-centre service (simulated gateways -> Mosquitto -> service -> database)").AppendLine();
        md.AppendLine("Latency: alarm published by a simulated gateway -> the service's `received` back at it (sent only after the commit). Stored: counted in the database after each phase.").AppendLine();
        if (service["error"] is { } error)
        {
            md.AppendLine(inv, $"Not measured: {F(error)}");
            return;
        }

        if (service["postgresSkipped"] is { } skipped)
        {
            md.AppendLine(inv, $"PostgreSQL not measured: {F(skipped)}.").AppendLine();
        }

        foreach (var run in service["runs"]?.AsArray() ?? [])
        {
            md.AppendLine(inv, $"### {F(run?["provider"])}").AppendLine();
            if (run?["error"] is JsonValue e)
            {
                md.AppendLine(inv, $"Error: {F(e)}").AppendLine();
            }

            var hb = run?["heartbeatLatency"];
            md.AppendLine(inv, $"Gateways connected: {F(run?["gatewaysConnected"])} of {F(run?["gatewaysTarget"])} in {F(run?["connectSeconds"])} s; heartbeat every {F(run?["heartbeatSeconds"])} s each: {F(run?["heartbeatsSent"])} sent, {F(run?["heartbeatsAnswered"])} answered (p50 {F(hb?["p50Ms"])} ms, p99 {F(hb?["p99Ms"])} ms). Service RSS idle {F(run?["serviceIdleRssMb"])} MB, peak {F(run?["servicePeakRssMb"])} MB; Mosquitto peak {F(run?["brokerPeakRssMb"])} MB.").AppendLine();
            md.AppendLine("| Alarms/s offered | Published | Stored | Stored/s | Duplicates | Lost | p50 ms | p99 ms | max ms | Alarms/commit | Commit ms (mean / longest) | RSS MB | CPU % | Verdict |")
              .AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var p in run?["phases"]?.AsArray() ?? [])
            {
                var i = p?["intake"];
                md.AppendLine(inv, $"| {F(p?["alarmsPerSecond"])} | {F(p?["published"])} | {F(p?["stored"])} | {F(p?["storedPerSecond"])} | {F(p?["duplicates"])} | {F(p?["lost"])} | {F(p?["latency"]?["p50Ms"])} | {F(p?["latency"]?["p99Ms"])} | {F(p?["latency"]?["maxMs"])} | {F(i?["alarmsPerCommit"])} | {F(i?["meanCommitMs"])} / {F(i?["longestCommitMs"])} | {F(p?["serviceRssMb"])} | {F(p?["serviceCpuPercent"])} | {F(p?["verdict"])} |");
            }

            md.AppendLine();
        }
    }
}
