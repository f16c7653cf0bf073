using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CareGateway.LoadTest;

internal sealed record ServicePhaseResult(
    int AlarmsPerSecond, int Published, double AchievedPublishPerSecond, int Stored, int Duplicates, int Lost, int AckedNotStored,
    int ReceivedAcks, double StoredPerSecond, LatencySummary Latency, double ServiceRssMb, double ServiceCpuPercent, IntakeFigures Intake, string Verdict);

internal sealed record ServiceRunResult(
    string Provider, int GatewaysTarget, int GatewaysConnected, double ConnectSeconds, int HeartbeatSeconds,
    long HeartbeatsSent, long HeartbeatsAnswered, LatencySummary HeartbeatLatency,
    double ServiceIdleRssMb, double ServicePeakRssMb, double BrokerPeakRssMb, List<ServicePhaseResult> Phases, int HighestRateSustained, string? Error);

internal sealed record ServiceResult(int Version, DateTimeOffset At, string Size, List<ServiceRunResult> Runs, string? PostgresSkipped);

/// <summary>
/// The centre at scale with the REAL response-centre service: Mosquitto, the built service as a child process (its own
/// temp directory, SQLite, and PostgreSQL when Debian's is installed), and many simulated gateways (one lean MQTT
/// connection each, subscribed to their <c>ack</c> and <c>heartbeat-ack</c>, a heartbeat every 30 s spread evenly,
/// alarms at fixed rates from random gateways, each gateway numbering its own alarms by <c>seq</c>).
/// <para>
/// Latency is from an alarm published by the simulated gateway to the service's <c>received</c> acknowledgement back
/// at that gateway. The service sends <c>received</c> only after the alarm's row is committed (CentreCore / AlarmIntake:
/// the commit returns before the acknowledgement is published), so this is an upper bound of "published to stored".
/// After each phase the database itself is read: every alarm published must be there exactly once (copies = 1),
/// and none acknowledged without being there.
/// </para>
/// <c>CareGateway.LoadTest centre-service --service PATH/response-centre.dll --out FILE [--quick|--smoke] [--gateways N] [--no-postgres] [--rates 500,2000] [--warm-up SECONDS]</c>
/// </summary>
internal sealed class CentreServiceTest(string serviceDll, int gateways, RunSize size, TextWriter log)
{
    /// <summary>Alarm rates of the phases (<c>--rates 500,2000</c>); by default 500, 1,000, 2,000, 4,000/s (full run).</summary>
    public int[]? Rates { get; init; }

    /// <summary>Seconds before the first phase (<c>--warm-up</c>): by default one heartbeat interval in a full run.</summary>
    public int? WarmUpSeconds { get; init; }

    private const int HeartbeatSeconds = 30;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly ConcurrentDictionary<string, long> _sent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _acked = new(StringComparer.Ordinal);
    private readonly Latencies _latency = new();
    private readonly Latencies _heartbeatLatency = new();
    private long _duplicateAcks;
    private long _heartbeatsSent;
    private long _heartbeatsAnswered;

    public static async Task<int> MainAsync(IReadOnlyList<string> args, TextWriter log)
    {
        var arguments = args.ToList();
        string? Option(string name)
        {
            var i = arguments.IndexOf(name);
            return i >= 0 && i + 1 < arguments.Count ? arguments[i + 1] : null;
        }

        var size = arguments.Contains("--smoke") ? RunSize.Smoke : arguments.Contains("--quick") ? RunSize.Quick : RunSize.Full;
        var output = Option("--out") ?? Path.Combine("bench", "results", "centre-service.json");
        var dll = Path.GetFullPath(Option("--service") ?? Path.Combine("response-centre", "CareGateway.ResponseCentre.Service", "bin", "Release", "net10.0", "response-centre.dll"));
        var count = int.Parse(Option("--gateways") ?? (size == RunSize.Full ? "10000" : "50"), CultureInfo.InvariantCulture);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(size == RunSize.Full ? 15 : 3));
        var runs = new List<ServiceRunResult>();
        string? postgresSkipped = null;
        if (!File.Exists(dll))
        {
            runs.Add(Failed("sqlite", count, $"{dll} not found: build response-centre/CareGateway.ResponseCentre.Service (Release) first"));
        }
        else
        {
            var rates = Option("--rates")?.Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToArray();
            var warmUp = Option("--warm-up") is { } w ? int.Parse(w, CultureInfo.InvariantCulture) : (int?)null;
            runs.Add(await new CentreServiceTest(dll, count, size, log) { Rates = rates, WarmUpSeconds = warmUp }.RunAsync("sqlite", null, cts.Token));
            var bin = ThrowawayPostgres.FindBin();
            if (arguments.Contains("--no-postgres"))
            {
                postgresSkipped = "not asked for (--no-postgres)";
            }
            else if (bin is null)
            {
                postgresSkipped = "PostgreSQL is not installed (Debian: apt-get install postgresql)";
            }
            else
            {
                try
                {
                    await using var pg = await ThrowawayPostgres.StartAsync(bin, durable: true, database: "centre");
                    runs.Add(await new CentreServiceTest(dll, count, size, log) { Rates = rates, WarmUpSeconds = warmUp }.RunAsync("postgres", pg.ConnectionString(), cts.Token));
                }
                catch (Exception ex) when (ex is InvalidOperationException or IOException or Npgsql.NpgsqlException)
                {
                    runs.Add(Failed("postgres", count, $"PostgreSQL did not start: {ex.Message}"));
                }
            }
        }

        if (postgresSkipped is not null)
        {
            await log.WriteLineAsync($"centre service: PostgreSQL skipped: {postgresSkipped}");
        }

        var result = new ServiceResult(1, DateTimeOffset.UtcNow, size.ToString().ToLowerInvariant(), runs, postgresSkipped);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(result, Json));
        await log.WriteLineAsync($"wrote {output}");
        var errors = runs.Where(r => r.Error is not null).Select(r => $"{r.Provider}: {r.Error}").ToList();
        if (errors.Count > 0)
        {
            await log.WriteLineAsync($"errors: {string.Join("; ", errors)}");
            return 1;
        }

        return 0;
    }

    private static ServiceRunResult Failed(string provider, int gateways, string error) =>
        new(provider, gateways, 0, 0, HeartbeatSeconds, 0, 0, Latencies.Summarize([]), double.NaN, double.NaN, double.NaN, [], 0, error);

    private async Task<ServiceRunResult> RunAsync(string provider, string? postgres, CancellationToken ct)
    {
        var sims = new ConcurrentBag<Sim>();
        try
        {
            await using var broker = await Mosquitto.StartAsync();
            await using var service = await CentreServiceProcess.StartAsync(serviceDll, broker.Port, provider, postgres, ct);
            log.WriteLine($"centre service ({provider}): started, pid {service.Pid}");

            // Connect the gateways, 100 at a time; stop at the first failure.
            var connect = Stopwatch.StartNew();
            string? failure = null;
            for (var start = 0; start < gateways && failure is null && connect.Elapsed < TimeSpan.FromSeconds(180); start += 100)
            {
                var batch = Enumerable.Range(start, Math.Min(100, gateways - start)).Select(async i =>
                {
                    var sim = new Sim(string.Create(CultureInfo.InvariantCulture, $"gw-sim-{i:00000}"));
                    sim.Client = await MiniMqtt.ConnectAsync(broker.Port, sim.Id, ct, keepAliveSeconds: 120, readBuffer: 512,
                        onMessage: (topic, payload) => OnMessage(sim, topic, payload));
                    await sim.Client.SubscribeAsync($"care/v1/{sim.Id}/ack", ct);
                    await sim.Client.SubscribeAsync($"care/v1/{sim.Id}/heartbeat-ack", ct);
                    sims.Add(sim);
                });
                try
                {
                    await Task.WhenAll(batch);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException)
                {
                    failure = $"{ex.GetType().Name}: {ex.Message}";
                }
            }

            var list = sims.Where(s => s.Client is { Closed: false }).OrderBy(s => s.Id, StringComparer.Ordinal).ToArray();
            var connectSeconds = Math.Round(connect.Elapsed.TotalSeconds, 1);
            log.WriteLine($"centre service ({provider}): {list.Length} of {gateways} gateways connected in {connectSeconds} s{(failure is null ? "" : $" (stopped: {failure})")}");

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var heartbeats = HeartbeatsAsync(list, stop.Token);

            // Let the first round of heartbeats reach the service before alarms are measured (quick runs: a moment).
            var warmUp = TimeSpan.FromSeconds(WarmUpSeconds ?? (size == RunSize.Full ? HeartbeatSeconds : 1));
            await Task.Delay(warmUp, ct);
            var idle = ProcMemory.Read(service.Pid);
            var phases = new List<ServicePhaseResult>();
            var highest = 0;
            foreach (var rate in Rates ?? (size == RunSize.Full ? [500, 1000, 2000, 4000] : [size == RunSize.Smoke ? 20 : 200]))
            {
                var r = await RunPhaseAsync(service, list, rate, TimeSpan.FromSeconds(size switch { RunSize.Smoke => 1, RunSize.Quick => 3, _ => 10 }), provider, ct);
                phases.Add(r);
                if (r.Verdict == "sustained")
                {
                    highest = rate;
                }

                // A tail over 250 ms on 2 shared cores may be a neighbour's doing: go on to the next rate unless the
                // service lost alarms or fell clearly behind (stored under 90 % of the rate offered).
                if (r.Lost > 0 || r.StoredPerSecond < 0.9 * rate)
                {
                    break;
                }
            }

            await stop.CancelAsync();
            await heartbeats;
            var peak = ProcMemory.Read(service.Pid);
            var brokerPeak = ProcMemory.Read(broker.Pid);
            var hbSent = Interlocked.Read(ref _heartbeatsSent);
            var hbAnswered = Interlocked.Read(ref _heartbeatsAnswered);
            var hbLatency = Latencies.Summarize(_heartbeatLatency.Snapshot());
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"centre service ({provider}): 'received' for copies or earlier phases {Interlocked.Read(ref _duplicateAcks)}; heartbeats sent {hbSent}, answered {hbAnswered} (p50 {hbLatency.P50Ms} ms, p99 {hbLatency.P99Ms} ms); service RSS idle {idle.RssMb} MB, peak {peak.HwmMb} MB"));
            if (service.LastLines.Contains("fail", StringComparison.OrdinalIgnoreCase) || service.LastLines.Contains("exception", StringComparison.OrdinalIgnoreCase))
            {
                log.WriteLine($"centre service ({provider}): last lines of its log: {service.LastLines}");
            }

            string? error = service.HasExited ? $"the service exited during the run: {service.LastLines}" : null;
            return new ServiceRunResult(provider, gateways, list.Length, connectSeconds, HeartbeatSeconds, hbSent, hbAnswered, hbLatency,
                idle.RssMb, peak.HwmMb, brokerPeak.HwmMb, phases, highest, error);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException or OperationCanceledException or Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException)
        {
            log.WriteLine($"centre service ({provider}): {ex.Message}");
            return Failed(provider, gateways, ex.Message);
        }
        finally
        {
            foreach (var chunk in sims.Where(s => s.Client is not null).Chunk(500))
            {
                await Task.WhenAll(chunk.Select(s => s.Client!.DisposeAsync().AsTask()));
            }
        }
    }

    private async Task HeartbeatsAsync(Sim[] sims, CancellationToken ct)
    {
        if (sims.Length == 0)
        {
            return;
        }

        // Each gateway sends one QoS 0 heartbeat per interval, spread evenly, saying how many of its alarms still wait
        // for 'received' and its last sequence number (so the service's gap check runs as it would in the field).
        var interval = TimeSpan.FromSeconds(HeartbeatSeconds) / sims.Length;
        var i = 0;
        var t0 = Stopwatch.GetTimestamp();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var sim = sims[i % sims.Length];
                if (sim.Client is { Closed: false } client)
                {
                    var payload = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                        $$"""{"version":1,"gatewayId":"{{sim.Id}}","at":"{{DateTimeOffset.UtcNow:O}}","uptimeSeconds":{{(long)Stopwatch.GetElapsedTime(t0).TotalSeconds + 1}},"pendingAlarms":{{Volatile.Read(ref sim.Pending)}},"lastSeq":{{Volatile.Read(ref sim.Seq)}},"intervalSeconds":{{HeartbeatSeconds}}}"""));
                    Volatile.Write(ref sim.HeartbeatSentAt, Stopwatch.GetTimestamp());
                    await client.PublishAsync($"care/v1/{sim.Id}/heartbeat", payload, 0, ct);
                    Interlocked.Increment(ref _heartbeatsSent);
                }

                i++;
                var due = TimeSpan.FromTicks(interval.Ticks * i) - Stopwatch.GetElapsedTime(t0);
                if (due > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(due, ct);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<ServicePhaseResult> RunPhaseAsync(CentreServiceProcess service, Sim[] sims, int rate, TimeSpan duration, string provider, CancellationToken ct)
    {
        var before = _latency.Count;
        var total = (int)(rate * duration.TotalSeconds);
        var ids = new List<string>(total);
        var interval = Stopwatch.Frequency / (double)rate;
        var cpu0 = service.CpuSeconds();
        var intakeFrom = service.IntakeSince(int.MaxValue).Next;
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            var due = t0 + (long)(i * interval);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.FromMilliseconds(2))
            {
                await Task.Delay(wait - TimeSpan.FromMilliseconds(1), ct);
            }

            var sim = sims[Random.Shared.Next(sims.Length)];
            var alarmId = Guid.CreateVersion7().ToString();
            ids.Add(alarmId);
            long seq;
            lock (sim)
            {
                // One gateway numbers its alarms in the order it sends them (the uplink sends in seq order).
                seq = ++sim.Seq;
                Interlocked.Increment(ref sim.Pending);
                _sent[alarmId] = Stopwatch.GetTimestamp();
            }

            var now = DateTimeOffset.UtcNow;
            var payload = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $$"""{"version":1,"alarmId":"{{alarmId}}","gatewayId":"{{sim.Id}}","seq":{{seq}},"type":"panic","priority":"critical","vkpCode":"4.13","triage":"R","state":"raised","sensorId":"panic-1","room":"bedroom","raisedAt":"{{now:O}}","sentAt":"{{now:O}}","attempt":1,"reason":"Panic button pressed"}"""));
            await sim.Client!.PublishAsync($"care/v1/{sim.Id}/alarm", payload, 1, ct);
        }

        var sendSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        // Drain: wait for every 'received', giving up after 10 s without progress (or 120 s in all).
        var drain = Stopwatch.StartNew();
        var lastProgress = Stopwatch.StartNew();
        var lastCount = -1;
        while (drain.Elapsed < TimeSpan.FromSeconds(120) && lastProgress.Elapsed < TimeSpan.FromSeconds(10))
        {
            var acked = ids.Count(_acked.ContainsKey);
            if (acked >= total)
            {
                break;
            }

            if (acked != lastCount)
            {
                lastCount = acked;
                lastProgress.Restart();
            }

            await Task.Delay(50, ct);
        }

        var lastAckAt = Stopwatch.GetElapsedTime(t0).TotalSeconds - (lastProgress.Elapsed.TotalSeconds > 1 ? lastProgress.Elapsed.TotalSeconds : 0);
        var cpu = (service.CpuSeconds() - cpu0) / Stopwatch.GetElapsedTime(t0).TotalSeconds * 100;
        var rss = ProcMemory.Read(service.Pid).RssMb;
        await Task.Delay(TimeSpan.FromSeconds(5.5), ct); // the service writes its intake figures every 5 s
        var intake = service.IntakeSince(intakeFrom).Figures;

        // What the database holds: every alarm of this phase exactly once (a copy counts up 'copies').
        var stored = await service.StoredAlarmsAsync(ct);
        var storedHere = ids.Count(stored.ContainsKey);
        var duplicates = ids.Where(stored.ContainsKey).Sum(id => stored[id] - 1);
        var ackedNotStored = ids.Count(id => _acked.ContainsKey(id) && !stored.ContainsKey(id));
        var receivedAcks = ids.Count(_acked.ContainsKey);
        var lost = total - storedHere;
        var samples = _latency.Snapshot()[before..];
        var summary = Latencies.Summarize(samples);
        var achieved = total / sendSeconds;
        var storedPerSecond = storedHere / Math.Max(sendSeconds, lastAckAt);
        var verdict =
            lost > 0 ? $"{lost} alarms not stored after the drain" :
            receivedAcks < total ? $"{total - receivedAcks} stored alarms not acknowledged" :
            ackedNotStored > 0 ? $"{ackedNotStored} acknowledged but not stored" :
            duplicates > 0 ? $"{duplicates} duplicate copies" :
            achieved < 0.95 * rate ? $"the simulator reached only {achieved:F0}/s" :
            summary.P99Ms > 250 ? "queue (p99 > 250 ms)" :
            "sustained";
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"centre service ({provider}) {rate}/s: published {total} at {achieved:F0}/s, stored {storedHere} ({storedPerSecond:F0}/s), acknowledged {receivedAcks}, duplicates {duplicates}; p50 {summary.P50Ms} ms p99 {summary.P99Ms} ms max {summary.MaxMs} ms; service RSS {rss} MB, CPU {cpu:F0} %; {intake.Commits} commits, {intake.AlarmsPerCommit} alarms each, {intake.MeanCommitMs} ms mean, longest {intake.LongestCommitMs} ms; {verdict}"));
        return new ServicePhaseResult(rate, total, Math.Round(achieved, 1), storedHere, duplicates, lost, ackedNotStored, receivedAcks,
            Math.Round(storedPerSecond, 1), summary, rss, Math.Round(cpu, 1), intake, verdict);
    }

    private ValueTask OnMessage(Sim sim, string topic, ReadOnlyMemory<byte> payload)
    {
        var now = Stopwatch.GetTimestamp();
        if (topic.EndsWith("/heartbeat-ack", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _heartbeatsAnswered);
            var sentAt = Volatile.Read(ref sim.HeartbeatSentAt);
            if (sentAt != 0)
            {
                _heartbeatLatency.Add(Stopwatch.GetElapsedTime(sentAt, now).TotalMilliseconds);
            }

            return ValueTask.CompletedTask;
        }

        using var doc = JsonDocument.Parse(payload);
        var root = doc.RootElement;
        if (root.GetProperty("state").GetString() != "received")
        {
            return ValueTask.CompletedTask;
        }

        var alarmId = root.GetProperty("alarmId").GetString()!;
        if (_sent.TryRemove(alarmId, out var sent))
        {
            _latency.Add(Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds);
            _acked[alarmId] = 0;
            Interlocked.Decrement(ref sim.Pending);
        }
        else
        {
            Interlocked.Increment(ref _duplicateAcks);
        }

        return ValueTask.CompletedTask;
    }

    private sealed class Sim(string id)
    {
        public long Seq;
        public int Pending;
        public long HeartbeatSentAt;

        public string Id { get; } = id;

        public MiniMqtt? Client { get; set; }
    }
}
