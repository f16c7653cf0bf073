using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CareGateway.LoadTest;

/// <summary>One phase of load: events per second for a time; every <c>AlarmEvery</c>-th event is a panic press.</summary>
internal sealed record Phase(string Name, int Rate, TimeSpan Duration, int AlarmEvery);

internal sealed record PhaseResult(
    string Name, int RatePerSecond, int AlarmEvery, int EventsSent, double AchievedEventsPerSecond, int AlarmsExpected, int AlarmsReceived,
    int AlarmsLost, LatencySummary Latency, LatencySummary FirstFifth, LatencySummary LastFifth, bool Sustained, string Verdict,
    double GatewayCpuUsPerEvent, double GatewaySwitchesPerEvent, double RssAfterMb = double.NaN);

internal sealed record GatewayResult(
    string GatewayCommand, int Sensors, double StartToFirstAlarmMs, double IdleRssMb, double LoadRssMb, double PeakRssMb,
    List<PhaseResult> Phases, int HighestSustainedEventsPerSecond, int AlarmsLostTotal, double IdleRssAfterLoadMb, double IdleRssAnonMb, double IdleRssFileMb, double IdleRssShmemMb);

/// <summary>
/// End to end through the built gateway: Mosquitto on loopback; the gateway as a child process (its memory and
/// start-up are its own) with Zigbee panic buttons and motion sensors on that broker; a load generator that publishes
/// zigbee2mqtt device messages; and a subscriber in the centre's role that receives each alarm and answers
/// <c>received</c> then <c>closed</c> (closing lets the same button raise again). A press carries its send time as
/// zigbee2mqtt's <c>last_seen</c> (ms): the alarm's <c>raisedAt</c> is that time, so (sensor, raisedAt) maps every
/// alarm back to the message that caused it, and the precise send timestamp is looked up locally.
/// The gateway is either the shipped form (a self-contained publish, started as its native apphost
/// <c>care-gateway</c>) or the framework-dependent build (<c>care-gateway.dll</c>, started with <c>dotnet</c>).
/// </summary>
internal sealed class GatewayLoadTest(string gatewayPath, RunSize size, TextWriter log, IReadOnlyDictionary<string, string>? gatewayEnvironment = null, string? smapsFile = null)
{
    private const string GatewayId = "gw-bench";
    private const int Buttons = 256;
    private const int Motions = 16;
    private const double SustainedP99LimitMs = 250;
    private static readonly int[] RampRates = [200, 500, 1000, 2000, 5000, 10000, 20000];
    private readonly ConcurrentDictionary<(string Sensor, long Ms), long> _sent = new();
    private readonly ConcurrentDictionary<string, byte> _seenAlarmIds = new();
    private readonly Latencies _latency = new();
    private long _firstAlarmTicks;
    private long _duplicates;

    private bool Quick => size != RunSize.Full;

    public async Task<GatewayResult> RunAsync(CancellationToken ct)
    {
        var fixedRates = size switch
        {
            RunSize.Smoke => [new Phase("10/s", 10, TimeSpan.FromSeconds(1), 1)],
            RunSize.Quick => new[] { new Phase("10/s", 10, TimeSpan.FromSeconds(2), 1), new Phase("100/s", 100, TimeSpan.FromSeconds(2), 1) },
            _ => [new Phase("10/s", 10, TimeSpan.FromSeconds(20), 1), new Phase("100/s", 100, TimeSpan.FromSeconds(15), 1)],
        };
        Phase[] thousand = size == RunSize.Full ? [new Phase("1000/s", 1000, TimeSpan.FromSeconds(10), 1)] : [];
        var ramp = size switch
        {
            RunSize.Smoke => [],
            RunSize.Quick => new[] { new Phase("ramp 200/s", 200, TimeSpan.FromSeconds(2), 100), new Phase("ramp 1000/s", 1000, TimeSpan.FromSeconds(2), 100) },
            _ => [.. RampRates.Select(r => new Phase($"ramp {r}/s", r, TimeSpan.FromSeconds(5), 100))],
        };

        // Each block on a fresh broker and gateway: a phase the gateway cannot keep up with leaves a backlog that
        // would otherwise be charged to the next phase.
        var first = await RunBlockAsync(fixedRates, stopAtFirstFailure: false, ct);
        var phases = new List<PhaseResult>(first.Phases);
        var loadRss = first.LoadRss;
        var peak = first.PeakRss;
        if (thousand.Length > 0)
        {
            var b = await RunBlockAsync(thousand, stopAtFirstFailure: false, ct);
            phases.AddRange(b.Phases);
            (loadRss, peak) = (Math.Max(loadRss, b.LoadRss), Math.Max(peak, b.PeakRss));
        }

        var highest = 0;
        if (ramp.Length > 0)
        {
            var b = await RunBlockAsync(ramp, stopAtFirstFailure: true, ct);
            phases.AddRange(b.Phases);
            (loadRss, peak) = (Math.Max(loadRss, b.LoadRss), Math.Max(peak, b.PeakRss));
            highest = b.Phases.TakeWhile(p => p.Sustained).Select(p => p.RatePerSecond).DefaultIfEmpty(0).Max();
        }

        return new GatewayResult(
            string.Join(' ', Command([]).Select(Path.GetFileName)) + " run", Buttons + Motions, first.StartupMs, first.IdleRss, loadRss, peak,
            phases, highest, phases.Sum(p => p.AlarmsLost), first.AfterRss, first.Split.AnonMb, first.Split.FileMb, first.Split.ShmemMb);
    }

    private async Task<(double StartupMs, double IdleRss, double LoadRss, double PeakRss, double AfterRss, (double AnonMb, double FileMb, double ShmemMb) Split, List<PhaseResult> Phases)> RunBlockAsync(
        IReadOnlyList<Phase> block, bool stopAtFirstFailure, CancellationToken ct)
    {
        await using var broker = await Mosquitto.StartAsync();
        var dir = Directory.CreateTempSubdirectory("care-bench-gateway-").FullName;
        try
        {
            var config = WriteConfig(dir, broker.Port);
            await using var centre = await MiniMqtt.ConnectAsync(broker.Port, "bench-centre", ct, readBuffer: 65536);
            centre.OnMessage = (topic, payload) => OnAlarmAsync(centre, topic, payload, ct);
            await centre.SubscribeAsync("care/v1/+/alarm", ct);
            await using var sensors = await MiniMqtt.ConnectAsync(broker.Port, "bench-zigbee2mqtt", ct, readBuffer: 4096);

            // Start-up: the clock starts just before the process; a button is pressed every 5 ms until the first alarm.
            Interlocked.Exchange(ref _firstAlarmTicks, 0);
            var start = Stopwatch.GetTimestamp();
            var command = Command(["run", "--config", config]);
            var startInfo = new ProcessStartInfo(command[0], command.Skip(1))
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
                Environment = { ["Logging__LogLevel__Default"] = "Warning" },
            };
            foreach (var (name, value) in gatewayEnvironment ?? new Dictionary<string, string>())
            {
                startInfo.Environment[name] = value;
            }

            using var gateway = Process.Start(startInfo) ?? throw new InvalidOperationException("the gateway did not start");
            var output = new ConcurrentQueue<string>();
            gateway.OutputDataReceived += (_, e) => Keep(output, e.Data);
            gateway.ErrorDataReceived += (_, e) => Keep(output, e.Data);
            gateway.BeginOutputReadLine();
            gateway.BeginErrorReadLine();
            try
            {
                var startup = await MeasureStartupAsync(sensors, start, gateway, output, ct);
                log.WriteLine($"gateway: first alarm delivered {startup:F0} ms after process start");
                await Task.Delay(TimeSpan.FromSeconds(Quick ? 1 : 3), ct);
                var idle = ProcMemory.Read(gateway.Id);
                var split = ProcMemory.Split(gateway.Id);
                if (smapsFile is not null)
                {
                    File.AppendAllText(smapsFile, ProcMemory.Mappings(gateway.Id));
                }

                log.WriteLine($"gateway: idle RSS {idle.RssMb} MB ({split.AnonMb} MB anonymous, {split.FileMb} MB file-backed, {split.ShmemMb} MB shared)");
                var phases = new List<PhaseResult>();
                var loadRss = 0.0;
                foreach (var phase in block)
                {
                    var r = await RunPhaseAsync(sensors, phase, gateway, ct);
                    var rss = ProcMemory.Read(gateway.Id).RssMb;
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"gateway {phase.Name}: RSS after the phase {rss} MB"));
                    phases.Add(r with { RssAfterMb = rss });
                    loadRss = Math.Max(loadRss, rss);
                    if (stopAtFirstFailure && !r.Sustained)
                    {
                        break;
                    }
                }

                var after = ProcMemory.Read(gateway.Id);
                return (Math.Round(startup, 1), idle.RssMb, loadRss, after.HwmMb, after.RssMb, split, phases);
            }
            finally
            {
                if (!gateway.HasExited)
                {
                    gateway.Kill(entireProcessTree: true);
                    await gateway.WaitForExitAsync(CancellationToken.None);
                }

                if (Interlocked.Read(ref _duplicates) > 0)
                {
                    log.WriteLine($"gateway: {_duplicates} alarms arrived twice so far (QoS 1 redelivery; the centre de-duplicates by id)");
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The command line that starts the gateway: <c>dotnet care-gateway.dll ...</c> or the apphost itself.</summary>
    private List<string> Command(IEnumerable<string> arguments) =>
        gatewayPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ["dotnet", gatewayPath, .. arguments] : [gatewayPath, .. arguments];

    private static void Keep(ConcurrentQueue<string> output, string? line)
    {
        if (line is null)
        {
            return;
        }

        output.Enqueue(line);
        while (output.Count > 40 && output.TryDequeue(out _))
        {
        }
    }

    private async Task<double> MeasureStartupAsync(MiniMqtt sensors, long start, Process gateway, ConcurrentQueue<string> output, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (Interlocked.Read(ref _firstAlarmTicks) == 0)
        {
            if (gateway.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"no alarm from the gateway within 30 s of start (exited: {gateway.HasExited}). Its last output:\n{string.Join('\n', output)}");
            }

            await PressAsync(sensors, "start", ct);
            await Task.Delay(5, ct);
        }

        return Stopwatch.GetElapsedTime(start, Interlocked.Read(ref _firstAlarmTicks)).TotalMilliseconds;
    }

    private async Task<PhaseResult> RunPhaseAsync(MiniMqtt sensors, Phase phase, Process gateway, CancellationToken ct)
    {
        var before = _latency.Count;
        var cpuBefore = ProcCpu.ReadMs(gateway.Id);
        var switchesBefore = ProcCpu.ContextSwitches(gateway.Id);
        var total = (int)(phase.Rate * phase.Duration.TotalSeconds);
        var alarms = 0;
        var interval = Stopwatch.Frequency / (double)phase.Rate;
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            // Open-loop pacing: each event has its slot; a late sender catches up rather than lowering the rate.
            var due = t0 + (long)(i * interval);
            while (Stopwatch.GetTimestamp() < due)
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.FromMilliseconds(2))
                {
                    await Task.Delay(wait - TimeSpan.FromMilliseconds(1), ct);
                }
                else
                {
                    Thread.SpinWait(50);
                }
            }

            if (i % phase.AlarmEvery == 0)
            {
                await PressAsync(sensors, $"sos-{alarms % Buttons:000}", ct);
                alarms++;
            }
            else
            {
                var n = i % (Motions * 2);
                var payload = Encoding.UTF8.GetBytes($$"""{"occupancy":{{(n >= Motions ? "true" : "false")}},"linkquality":120}""");
                await sensors.PublishAsync($"zigbee2mqtt/bench/pir-{n % Motions:00}", payload, 1, ct);
            }
        }

        var sendSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;

        // Drain: wait (bounded) until every press has its alarm.
        var drain = Stopwatch.StartNew();
        var limit = TimeSpan.FromSeconds(Quick ? 10 : Math.Max(10, phase.Duration.TotalSeconds * 2));
        while (_latency.Count - before < alarms && drain.Elapsed < limit && !gateway.HasExited)
        {
            await Task.Delay(20, ct);
        }

        // CPU time the gateway spent on the phase (user + system), per event: unlike latency, hardly moved by whatever
        // else the machine is doing, so it says what one event costs and, divided into the cores, how far a rate can go.
        var cpuUsPerEvent = Math.Round((ProcCpu.ReadMs(gateway.Id) - cpuBefore) * 1000 / total, 1);
        var switchesPerEvent = Math.Round((ProcCpu.ContextSwitches(gateway.Id) - switchesBefore) / (double)total, 1);
        var samples = _latency.Snapshot()[before..];
        var received = samples.Length;
        var fifth = Math.Max(1, samples.Length / 5);
        var first = Latencies.Summarize(samples.Take(fifth).ToArray());
        var last = Latencies.Summarize(samples.Skip(samples.Length - fifth).ToArray());
        var all = Latencies.Summarize(samples);
        var lost = Math.Max(0, alarms - received);
        var achieved = total / sendSeconds;
        // Sustained: nothing lost, the generator kept the rate, and latency did not grow through the phase.
        var growing = received > 10 && last.P50Ms > Math.Max(3 * first.P50Ms, first.P50Ms + 20);
        // A standing queue of a quarter of a second is not keeping up, even when it does not grow within the phase.
        var queued = all.P99Ms > SustainedP99LimitMs;
        var sustained = lost == 0 && achieved >= 0.95 * phase.Rate && !growing && !queued;
        var verdict = lost > 0 ? $"{lost} alarms not received within {limit.TotalSeconds:F0} s of the phase end (still in the outbox, or presses dropped because the button's previous alarm was still open)"
            : growing ? $"latency grew: p50 {first.P50Ms} ms in the first fifth, {last.P50Ms} ms in the last"
            : queued ? $"p99 {all.P99Ms} ms is over {SustainedP99LimitMs} ms: events queue up"
            : achieved < 0.95 * phase.Rate ? $"the generator reached only {achieved:F0}/s"
            : "sustained";
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"gateway {phase.Name}: {total} events ({alarms} alarms) at {achieved:F0}/s; received {received}; p50 {all.P50Ms} ms p99 {all.P99Ms} ms max {all.MaxMs} ms; gateway CPU {cpuUsPerEvent} us/event, {switchesPerEvent} context switches/event; {verdict}"));

        // Let the centre's closes land before the next phase, so no button is still open (and suppressed).
        await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
        return new PhaseResult(phase.Name, phase.Rate, phase.AlarmEvery, total, Math.Round(achieved, 1), alarms, received, lost, all, first, last, sustained, verdict, cpuUsPerEvent, switchesPerEvent);
    }

    private async Task PressAsync(MiniMqtt sensors, string device, CancellationToken ct)
    {
        // last_seen is the press time in ms: the gateway takes it as the event time, so the alarm's raisedAt names the press.
        var ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var sensor = "panic-" + device;
        while (!_sent.TryAdd((sensor, ms), Stopwatch.GetTimestamp()))
        {
            ms--; // two presses of one button in one millisecond: give the second an earlier, unique time
        }

        var payload = Encoding.UTF8.GetBytes($$"""{"action":"emergency","battery":90,"linkquality":120,"last_seen":{{ms}}}""");
        await sensors.PublishAsync($"zigbee2mqtt/bench/{device}", payload, 1, ct);
    }

    private async ValueTask OnAlarmAsync(MiniMqtt centre, string topic, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var now = Stopwatch.GetTimestamp();
        string alarmId, sensor, gatewayId;
        long raisedMs;
        using (var doc = JsonDocument.Parse(payload))
        {
            var root = doc.RootElement;
            alarmId = root.GetProperty("alarmId").GetString()!;
            sensor = root.TryGetProperty("sensorId", out var s) ? s.GetString() ?? "" : "";
            gatewayId = root.GetProperty("gatewayId").GetString()!;
            raisedMs = DateTimeOffset.Parse(root.GetProperty("raisedAt").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
        }

        if (!_seenAlarmIds.TryAdd(alarmId, 0))
        {
            Interlocked.Increment(ref _duplicates);
        }
        else if (_sent.TryRemove((sensor, raisedMs), out var sentAt))
        {
            Interlocked.CompareExchange(ref _firstAlarmTicks, now, 0);
            if (sensor != "panic-start")
            {
                _latency.Add(Stopwatch.GetElapsedTime(sentAt, now).TotalMilliseconds);
            }
        }

        var ackTopic = topic[..^"alarm".Length] + "ack";
        foreach (var state in new[] { "received", "closed" })
        {
            var ack = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
            {
                ["version"] = 1,
                ["alarmId"] = alarmId,
                ["gatewayId"] = gatewayId,
                ["state"] = state,
                ["by"] = "bench-centre",
                ["at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            });
            await centre.PublishAsync(ackTopic, ack, 1, ct);
        }
    }

    private static string WriteConfig(string dir, int port)
    {
        var sensors = new List<object>
        {
            new { id = "panic-start", kind = "panic", room = "bedroom", zigbee = new { device = "bench/start" } },
        };
        sensors.AddRange(Enumerable.Range(0, Buttons).Select(i => (object)new { id = $"panic-sos-{i:000}", kind = "panic", room = "bedroom", zigbee = new { device = $"bench/sos-{i:000}" } }));
        sensors.AddRange(Enumerable.Range(0, Motions).Select(i => (object)new { id = $"pir-{i:00}", kind = "motion", room = "living-room", zigbee = new { device = $"bench/pir-{i:00}" } }));
        var config = new
        {
            gatewayId = GatewayId,
            dataDirectory = Path.Combine(dir, "data"),
            broker = new { host = "127.0.0.1", port, heartbeatSeconds = 60, resendAfterSeconds = 15 },
            board = new { driver = "simulated" },
            zigbee = new { broker = new { host = "127.0.0.1", port }, baseTopic = "zigbee2mqtt" },
            sensors,
            careProfile = new { timeZone = "Europe/Oslo" },
        };
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        var path = Path.Combine(dir, "gateway.json");
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        return path;
    }
}
