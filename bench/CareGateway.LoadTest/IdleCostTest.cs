using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CareGateway.LoadTest;

/// <summary>One thread of the gateway over the idle window: context switches and CPU per second.</summary>
internal sealed record ThreadIdle(string Name, int Tid, double VoluntaryPerSecond, double NonvoluntaryPerSecond, double CpuMsPerSecond);

internal sealed record IdleCostResult(
    string GatewayCommand, double IdleWindowSeconds, double IdleWakeupsPerSecond, double IdleCpuMsPerSecond, long IdleBytesWritten,
    List<ThreadIdle> Threads, int MotionEvents, double SwitchesPerMotionEvent, double BytesWrittenPer1000MotionEvents,
    int Alarms, int AlarmsReceived, double SwitchesPerAlarm, double BytesWrittenPerAlarm);

/// <summary>
/// "Idle means asleep" (issue 17): the gateway as shipped, on a simulated board with one wired door contact and five
/// Zigbee sensors on a local Mosquitto, the default timers. Measured from /proc, never asserted:
/// <list type="bullet">
/// <item>idle, over a fixed window: context switches per second (voluntary + nonvoluntary: each one is the thread
/// going to sleep or being put off the CPU after a wake-up) and CPU ms per second, per thread; bytes written
/// (<c>/proc/PID/io</c> write_bytes, what reaches the block layer);</item>
/// <item>motion reports that raise nothing, one at a time (20 a second): context switches per event, bytes written
/// per 1,000 events;</item>
/// <item>panic presses, one at a time, each alarm answered <c>received</c> and <c>closed</c> by a subscriber in the
/// centre's role: context switches and bytes written per alarm, the whole round included.</item>
/// </list>
/// <c>CareGateway.LoadTest idle --gateway PATH [--gateway-env NAME=VALUE ...] [--window SECONDS] [--quick] [--out FILE]</c>.
/// </summary>
internal static class IdleCostTest
{
    private const string GatewayId = "gw-idle";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private const double IdleWakeupsTarget = 2, IdleCpuTarget = 0.5, PerAlarmTarget = 10, PerEventTarget = 2;

    public static async Task<int> MainAsync(IReadOnlyList<string> args, TextWriter log)
    {
        var arguments = args.ToList();
        string? Option(string name)
        {
            var i = arguments.IndexOf(name);
            return i >= 0 && i + 1 < arguments.Count ? arguments[i + 1] : null;
        }

        var quick = arguments.Contains("--quick");
        var gatewayPath = Path.GetFullPath(Option("--gateway") ?? Path.Combine("gateway", "CareGateway", "bin", "Release", "net10.0", "care-gateway.dll"));
        var env = arguments.Select((a, i) => (a, i)).Where(x => x.a == "--gateway-env" && x.i + 1 < arguments.Count)
            .Select(x => arguments[x.i + 1].Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "", StringComparer.Ordinal);
        var window = TimeSpan.FromSeconds(double.Parse(Option("--window") ?? (quick ? "10" : "60"), CultureInfo.InvariantCulture));
        var motions = quick ? 200 : 1000;
        var alarms = quick ? 10 : 30;
        using var cts = new CancellationTokenSource(window + TimeSpan.FromMinutes(5));
        var result = await RunAsync(gatewayPath, env, window, motions, alarms, log, cts.Token);
        Print(result, log);
        if (Option("--out") is { } output)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            await File.WriteAllTextAsync(output, JsonSerializer.Serialize(result, Json));
            await log.WriteLineAsync($"wrote {output}");
        }

        return result.AlarmsReceived == result.Alarms ? 0 : 1;
    }

    private static async Task<IdleCostResult> RunAsync(string gatewayPath, IReadOnlyDictionary<string, string> env, TimeSpan window, int motions, int alarms, TextWriter log, CancellationToken ct)
    {
        await using var broker = await Mosquitto.StartAsync();
        var dir = Directory.CreateTempSubdirectory("care-bench-idle-").FullName;
        try
        {
            var config = WriteConfig(dir, broker.Port);
            var received = 0;
            var online = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var centre = await MiniMqtt.ConnectAsync(broker.Port, "bench-centre", ct);
            centre.OnMessage = async (topic, payload) =>
            {
                if (topic.EndsWith("/status", StringComparison.Ordinal))
                {
                    if (Encoding.UTF8.GetString(payload.Span).Contains("\"online\"", StringComparison.Ordinal))
                    {
                        online.TrySetResult();
                    }

                    return;
                }

                string alarmId;
                using (var doc = JsonDocument.Parse(payload))
                {
                    alarmId = doc.RootElement.GetProperty("alarmId").GetString()!;
                }

                foreach (var state in new[] { "received", "closed" })
                {
                    var ack = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
                    {
                        ["version"] = 1,
                        ["alarmId"] = alarmId,
                        ["gatewayId"] = GatewayId,
                        ["state"] = state,
                        ["by"] = "bench-centre",
                        ["at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                    });
                    await centre.PublishAsync(topic[..^"alarm".Length] + "ack", ack, 1, ct);
                }

                Interlocked.Increment(ref received);
            };
            await centre.SubscribeAsync($"care/v1/{GatewayId}/alarm", ct);
            await centre.SubscribeAsync($"care/v1/{GatewayId}/status", ct);
            await using var zigbee = await MiniMqtt.ConnectAsync(broker.Port, "bench-zigbee2mqtt", ct);

            // The working directory is an empty directory of its own: nothing the bench writes lands where the gateway
            // could be watching.
            var cwd = Directory.CreateDirectory(Path.Combine(dir, "cwd")).FullName;
            List<string> command = gatewayPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ["dotnet", gatewayPath] : [gatewayPath];
            var start = new ProcessStartInfo(command[0], [.. command.Skip(1), "run", "--config", config])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
                WorkingDirectory = cwd,
                Environment = { ["Logging__LogLevel__Default"] = "Warning" },
            };
            foreach (var (name, value) in env)
            {
                start.Environment[name] = value;
            }

            using var gateway = Process.Start(start) ?? throw new InvalidOperationException("the gateway did not start");
            var output = new StringBuilder();
            gateway.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            gateway.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            gateway.BeginOutputReadLine();
            gateway.BeginErrorReadLine();
            try
            {
                try
                {
                    await online.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
                }
                catch (TimeoutException)
                {
                    lock (output)
                    {
                        throw new InvalidOperationException($"the gateway did not say 'online' within 30 s; its output:\n{output}");
                    }
                }

                // Warm-up: every sensor heard once and one alarm round, so start-up work (first connection, first
                // writes, a JIT's tiering) is not charged to idle. Then a quiet settle before the window.
                for (var i = 0; i < 5; i++)
                {
                    await MotionAsync(zigbee, i, ct);
                }

                await PressAsync(zigbee, ct);
                await WaitAsync(() => Volatile.Read(ref received) >= 1, TimeSpan.FromSeconds(15), ct);
                await Task.Delay(TimeSpan.FromSeconds(5), ct);

                await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"idle: measuring {window.TotalSeconds:0} s"));
                var before = Snapshot(gateway.Id);
                var writtenBefore = WriteBytes(gateway.Id);
                var t0 = Stopwatch.GetTimestamp();
                await Task.Delay(window, ct);
                var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                var after = Snapshot(gateway.Id);
                var idleWritten = WriteBytes(gateway.Id) - writtenBefore;
                var threads = after.Where(a => before.ContainsKey(a.Key)).Select(a =>
                {
                    var b = before[a.Key];
                    return new ThreadIdle(a.Value.Name, a.Key, Math.Round((a.Value.Voluntary - b.Voluntary) / seconds, 2),
                        Math.Round((a.Value.Nonvoluntary - b.Nonvoluntary) / seconds, 2), Math.Round((a.Value.CpuNs - b.CpuNs) / 1e6 / seconds, 3));
                }).Where(t => t.VoluntaryPerSecond + t.NonvoluntaryPerSecond > 0 || t.CpuMsPerSecond > 0).OrderByDescending(t => t.VoluntaryPerSecond + t.NonvoluntaryPerSecond).ToList();

                // Motion reports, one at a time: each its own wake-up, not a batch.
                await log.WriteLineAsync($"idle: {motions} motion reports at 20/s");
                var s0 = ProcCpu.ContextSwitches(gateway.Id);
                var w0 = WriteBytes(gateway.Id);
                for (var i = 0; i < motions; i++)
                {
                    await MotionAsync(zigbee, i, ct);
                    await Task.Delay(50, ct);
                }

                await Task.Delay(TimeSpan.FromSeconds(2), ct); // the deferred save (at most 1 s later) lands in the figure
                var perMotion = (ProcCpu.ContextSwitches(gateway.Id) - s0) / (double)motions;
                var bytesPer1000Motions = (WriteBytes(gateway.Id) - w0) * 1000.0 / motions;

                // Alarms, one at a time, each through received and closed before the next press.
                await log.WriteLineAsync($"idle: {alarms} alarms, one at a time");
                var firstReceived = Volatile.Read(ref received);
                s0 = ProcCpu.ContextSwitches(gateway.Id);
                w0 = WriteBytes(gateway.Id);
                for (var i = 0; i < alarms; i++)
                {
                    await PressAsync(zigbee, ct);
                    var want = firstReceived + i + 1;
                    await WaitAsync(() => Volatile.Read(ref received) >= want, TimeSpan.FromSeconds(10), ct);
                    await Task.Delay(500, ct); // the closes land, the button can raise again
                }

                await Task.Delay(TimeSpan.FromSeconds(2), ct);
                var perAlarm = (ProcCpu.ContextSwitches(gateway.Id) - s0) / (double)alarms;
                var bytesPerAlarm = (WriteBytes(gateway.Id) - w0) / (double)alarms;
                return new IdleCostResult(
                    string.Join(' ', command.Select(Path.GetFileName)) + " run", Math.Round(seconds, 1),
                    Math.Round(threads.Sum(t => t.VoluntaryPerSecond + t.NonvoluntaryPerSecond), 2), Math.Round(threads.Sum(t => t.CpuMsPerSecond), 3), idleWritten,
                    threads, motions, Math.Round(perMotion, 2), Math.Round(bytesPer1000Motions), alarms, Volatile.Read(ref received) - firstReceived,
                    Math.Round(perAlarm, 1), Math.Round(bytesPerAlarm));
            }
            finally
            {
                if (!gateway.HasExited)
                {
                    gateway.Kill(entireProcessTree: true);
                    await gateway.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Print(IdleCostResult r, TextWriter log)
    {
        var inv = CultureInfo.InvariantCulture;
        string Verdict(double value, double target) => value <= target ? "meets" : "OVER";
        log.WriteLine(string.Create(inv, $"idle gateway ({r.GatewayCommand}), {r.IdleWindowSeconds} s window:"));
        foreach (var t in r.Threads)
        {
            log.WriteLine(string.Create(inv, $"  {t.Name,-18} tid {t.Tid,-7} {t.VoluntaryPerSecond,6:0.00} voluntary/s {t.NonvoluntaryPerSecond,6:0.00} nonvoluntary/s {t.CpuMsPerSecond,7:0.000} ms CPU/s"));
        }

        log.WriteLine(string.Create(inv, $"idle wake-ups (context switches, all threads): {r.IdleWakeupsPerSecond:0.00}/s   target <= {IdleWakeupsTarget}/s   {Verdict(r.IdleWakeupsPerSecond, IdleWakeupsTarget)}"));
        log.WriteLine(string.Create(inv, $"idle CPU: {r.IdleCpuMsPerSecond:0.000} ms/s   target <= {IdleCpuTarget} ms/s   {Verdict(r.IdleCpuMsPerSecond, IdleCpuTarget)}"));
        log.WriteLine(string.Create(inv, $"idle bytes written: {r.IdleBytesWritten}   target 0   {Verdict(r.IdleBytesWritten, 0)}"));
        log.WriteLine(string.Create(inv, $"context switches per motion report (no alarm): {r.SwitchesPerMotionEvent:0.00}   target <= {PerEventTarget}   {Verdict(r.SwitchesPerMotionEvent, PerEventTarget)}"));
        log.WriteLine(string.Create(inv, $"bytes written per 1,000 motion reports: {r.BytesWrittenPer1000MotionEvents:0}"));
        log.WriteLine(string.Create(inv, $"context switches per alarm (stored, sent, received, closed): {r.SwitchesPerAlarm:0.0}   target <= {PerAlarmTarget}   {Verdict(r.SwitchesPerAlarm, PerAlarmTarget)}   ({r.AlarmsReceived} of {r.Alarms} alarms received)"));
        log.WriteLine(string.Create(inv, $"bytes written per alarm: {r.BytesWrittenPerAlarm:0}"));
    }

    private static async Task WaitAsync(Func<bool> done, TimeSpan limit, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (!done() && clock.Elapsed < limit)
        {
            await Task.Delay(10, ct);
        }
    }

    private static Task MotionAsync(MiniMqtt zigbee, int i, CancellationToken ct) =>
        zigbee.PublishAsync($"zigbee2mqtt/pir-{i % 3}", Encoding.UTF8.GetBytes($$"""{"occupancy":{{(i / 3 % 2 == 0 ? "true" : "false")}},"battery":90,"linkquality":120}"""), 1, ct);

    private static Task PressAsync(MiniMqtt zigbee, CancellationToken ct) =>
        zigbee.PublishAsync("zigbee2mqtt/panic-1", Encoding.UTF8.GetBytes("""{"action":"emergency","battery":90,"linkquality":120}"""), 1, ct);

    /// <summary>Per thread: name, voluntary and nonvoluntary context switches, CPU time in ns (schedstat).</summary>
    private static Dictionary<int, (string Name, long Voluntary, long Nonvoluntary, long CpuNs)> Snapshot(int pid)
    {
        var threads = new Dictionary<int, (string, long, long, long)>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var tid = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
                var name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                long voluntary = 0, nonvoluntary = 0;
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        voluntary = long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
                    }
                    else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        nonvoluntary = long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
                    }
                }

                var cpuNs = long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0], CultureInfo.InvariantCulture);
                threads[tid] = (name, voluntary, nonvoluntary, cpuNs);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                // the thread ended between the listing and the read
            }
        }

        return threads;
    }

    private static long WriteBytes(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/io").First(l => l.StartsWith("write_bytes:", StringComparison.Ordinal)).Split(':')[1].Trim(), CultureInfo.InvariantCulture);

    private static string WriteConfig(string dir, int port)
    {
        var config = $$"""
            {
              "gatewayId": "{{GatewayId}}",
              "dataDirectory": "{{Path.Combine(dir, "data")}}",
              "broker": { "host": "127.0.0.1", "port": {{port}} },
              "board": { "driver": "simulated" },
              "zigbee": { "broker": { "host": "127.0.0.1", "port": {{port}} }, "baseTopic": "zigbee2mqtt" },
              "sensors": [
                { "id": "door-front", "kind": "door", "room": "hallway", "outerDoor": true, "gpio": { "line": 17, "pull": "up" } },
                { "id": "pir-living", "kind": "motion", "room": "living-room", "zigbee": { "device": "pir-0" } },
                { "id": "pir-bedroom", "kind": "motion", "room": "bedroom", "zigbee": { "device": "pir-1" } },
                { "id": "pir-bath", "kind": "motion", "room": "bathroom", "zigbee": { "device": "pir-2" } },
                { "id": "panic-1", "kind": "panic", "room": "bedroom", "zigbee": { "device": "panic-1" } },
                { "id": "door-back", "kind": "door", "room": "kitchen", "zigbee": { "device": "door-back" } }
              ],
              "careProfile": { "timeZone": "Europe/Oslo" }
            }
            """;
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        var path = Path.Combine(dir, "conf", "gateway.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, config);
        return path;
    }
}
