using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CareGateway.LoadTest;

internal sealed record CentrePhaseResult(
    int AlarmsPerSecond, int Published, double AchievedPublishPerSecond, int Received, double IngestedPerSecond, int Lost, LatencySummary Latency, string Verdict);

internal sealed record CentreResult(
    int GatewaysTarget, int GatewaysConnected, double ConnectSeconds, string ConnectFailure, int HeartbeatSeconds, int CentreSubscribers,
    double BrokerRssMb, double BrokerPeakRssMb, double SimulatorRssMb, List<CentrePhaseResult> Phases, int HighestAlarmRateWithoutLoss);

/// <summary>
/// The centre at scale: many simulated gateways (one lean MQTT connection each, heartbeats at a fixed interval, each
/// subscribed to its ack topic) against Mosquitto, and centre-role subscribers sharing the alarm stream through a
/// shared subscription (<c>$share/centre/care/v1/+/alarm</c>), answering each alarm with <c>received</c>. Reports
/// connections held, ingestion rate, time from an alarm published to received by the centre, and memory.
/// The response-centre service is not part of this measurement (it is built elsewhere); storing is not measured.
/// </summary>
internal sealed class CentreScaleTest(int gateways, RunSize size, TextWriter log)
{
    private readonly ConcurrentDictionary<string, long> _sent = new();
    private readonly Latencies _latency = new();
    private long _received;

    public async Task<CentreResult> RunAsync(CancellationToken ct)
    {
        await using var broker = await Mosquitto.StartAsync();
        const int subscribers = 2;
        const int heartbeatSeconds = 30;
        var centres = new List<MiniMqtt>();
        var sims = new ConcurrentBag<MiniMqtt>();
        try
        {
            for (var c = 0; c < subscribers; c++)
            {
                var centre = await MiniMqtt.ConnectAsync(broker.Port, $"centre-{c}", ct, readBuffer: 65536);
                centre.OnMessage = (topic, payload) => OnAlarmAsync(centre, topic, payload, ct);
                await centre.SubscribeAsync("$share/centre/care/v1/+/alarm", ct);
                centres.Add(centre);
            }

            // Connect the gateways, 100 at a time; stop at the first failure and report how far it got.
            var connect = Stopwatch.StartNew();
            var failure = string.Empty;
            for (var start = 0; start < gateways && failure.Length == 0 && connect.Elapsed < TimeSpan.FromSeconds(180); start += 100)
            {
                var batch = Enumerable.Range(start, Math.Min(100, gateways - start)).Select(async i =>
                {
                    var sim = await MiniMqtt.ConnectAsync(broker.Port, $"gw-sim-{i:00000}", ct, keepAliveSeconds: 120, readBuffer: 512);
                    sims.Add(sim);
                    await sim.SubscribeAsync($"care/v1/gw-sim-{i:00000}/ack", ct);
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

            var connected = sims.Count(s => !s.Closed);
            var connectSeconds = Math.Round(connect.Elapsed.TotalSeconds, 1);
            log.WriteLine($"centre: {connected} of {gateways} gateways connected in {connectSeconds} s{(failure.Length > 0 ? $" (stopped: {failure})" : "")}");
            var simList = sims.ToArray();

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var heartbeats = HeartbeatsAsync(simList, heartbeatSeconds, stop.Token);
            var phases = new List<CentrePhaseResult>();
            var highest = 0;
            foreach (var rate in size == RunSize.Full ? [500, 1000, 2000, 4000, 8000] : new[] { size == RunSize.Smoke ? 50 : 200 })
            {
                var r = await RunPhaseAsync(simList, rate, TimeSpan.FromSeconds(size switch { RunSize.Smoke => 1, RunSize.Quick => 2, _ => 10 }), ct);
                phases.Add(r);
                if (r.Lost > 0 || r.AchievedPublishPerSecond < 0.95 * rate)
                {
                    break;
                }

                highest = rate;
            }

            var brokerMemory = ProcMemory.Read(broker.Pid);
            var own = ProcMemory.Read(Environment.ProcessId);
            await stop.CancelAsync();
            await heartbeats;
            return new CentreResult(gateways, connected, connectSeconds, failure, heartbeatSeconds, subscribers, brokerMemory.RssMb, brokerMemory.HwmMb, own.RssMb, phases, highest);
        }
        finally
        {
            foreach (var chunk in sims.Concat(centres).Chunk(500))
            {
                await Task.WhenAll(chunk.Select(s => s.DisposeAsync().AsTask()));
            }
        }
    }

    private static async Task HeartbeatsAsync(MiniMqtt[] sims, int seconds, CancellationToken ct)
    {
        // Spread evenly: each gateway sends one QoS 0 heartbeat per interval.
        if (sims.Length == 0)
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(seconds) / sims.Length;
        var payload = Encoding.UTF8.GetBytes("""{"version":1,"gatewayId":"gw-sim","at":"2026-11-24T01:19:00Z","uptimeSeconds":1,"pendingAlarms":0}""");
        var i = 0;
        try
        {
            var t0 = Stopwatch.GetTimestamp();
            while (!ct.IsCancellationRequested)
            {
                var sim = sims[i % sims.Length];
                if (!sim.Closed)
                {
                    await sim.PublishAsync($"care/v1/gw-sim-{i % sims.Length:00000}/heartbeat", payload, 0, ct);
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

    private async Task<CentrePhaseResult> RunPhaseAsync(MiniMqtt[] sims, int rate, TimeSpan duration, CancellationToken ct)
    {
        var before = _latency.Count;
        var receivedBefore = Interlocked.Read(ref _received);
        var total = (int)(rate * duration.TotalSeconds);
        var interval = Stopwatch.Frequency / (double)rate;
        var t0 = Stopwatch.GetTimestamp();
        var firstReceive = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            var due = t0 + (long)(i * interval);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.FromMilliseconds(2))
            {
                await Task.Delay(wait - TimeSpan.FromMilliseconds(1), ct);
            }

            var g = Random.Shared.Next(sims.Length);
            var gw = $"gw-sim-{g:00000}";
            var alarmId = Guid.CreateVersion7().ToString();
            var payload = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $$"""{"version":1,"alarmId":"{{alarmId}}","gatewayId":"{{gw}}","seq":{{i + 1}},"type":"panic","priority":1,"vkpCode":"4.11","triage":"red","state":"raised","sensorId":"panic-1","room":"bedroom","raisedAt":"{{DateTimeOffset.UtcNow:O}}","sentAt":"{{DateTimeOffset.UtcNow:O}}","attempt":1,"reason":"Panic button pressed"}"""));
            _sent[alarmId] = Stopwatch.GetTimestamp();
            await sims[g].PublishAsync($"care/v1/{gw}/alarm", payload, 1, ct);
        }

        var sendSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var drain = Stopwatch.StartNew();
        while (Interlocked.Read(ref _received) - receivedBefore < total && drain.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(20, ct);
        }

        var ingestSeconds = Stopwatch.GetElapsedTime(firstReceive).TotalSeconds - (drain.Elapsed.TotalSeconds > 0.02 ? Math.Max(0, drain.Elapsed.TotalSeconds - 0.02) : 0);
        var received = (int)(Interlocked.Read(ref _received) - receivedBefore);
        var samples = _latency.Snapshot()[before..];
        var summary = Latencies.Summarize(samples);
        var lost = Math.Max(0, total - received);
        var achieved = total / sendSeconds;
        var ingested = received / Math.Max(sendSeconds, ingestSeconds);
        var verdict = lost > 0 ? $"{lost} alarms not received within 15 s" : achieved < 0.95 * rate ? $"the simulator reached only {achieved:F0}/s" : "sustained";
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"centre {rate}/s: published {total} at {achieved:F0}/s, received {received} ({ingested:F0}/s); p50 {summary.P50Ms} ms p99 {summary.P99Ms} ms max {summary.MaxMs} ms; {verdict}"));
        _sent.Clear();
        return new CentrePhaseResult(rate, total, Math.Round(achieved, 1), received, Math.Round(ingested, 1), lost, summary, verdict);
    }

    private async ValueTask OnAlarmAsync(MiniMqtt centre, string topic, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var now = Stopwatch.GetTimestamp();
        // The alarm id sits at a fixed place in the simulator's payload: read it without a full parse.
        var text = Encoding.UTF8.GetString(payload.Span);
        var at = text.IndexOf("\"alarmId\":\"", StringComparison.Ordinal) + 11;
        var alarmId = text[at..text.IndexOf('"', at)];
        if (_sent.TryRemove(alarmId, out var sentAt))
        {
            Interlocked.Increment(ref _received);
            _latency.Add(Stopwatch.GetElapsedTime(sentAt, now).TotalMilliseconds);
        }

        var gw = topic.Split('/')[2];
        var ack = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $$"""{"version":1,"alarmId":"{{alarmId}}","gatewayId":"{{gw}}","state":"received","by":"{{"centre"}}","at":"{{DateTimeOffset.UtcNow:O}}"}"""));
        await centre.PublishAsync($"care/v1/{gw}/ack", ack, 1, ct);
    }
}
