using System.Globalization;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>
/// Per-gateway limits at the intake (issue 19 finding 9), so one gateway's flood cannot delay other homes: at most
/// <see cref="IntakeSettings.AlarmBurst"/> alarms at once and <see cref="IntakeSettings.AlarmsPerMinute"/> after that,
/// and at most <see cref="IntakeSettings.MaxOpenAlarms"/> open alarms of one gateway in the queue. An alarm over a limit
/// is not stored and not answered: it stays in the gateway's outbox, which sends it again later, so nothing is lost;
/// its MQTT message is acknowledged at once, so the broker's queue for the centre does not fill up. The first refusal
/// raises ONE technical alarm <see cref="CentreAlarmType.AlarmFlood"/> for that gateway (with the count so far),
/// until the gateway has been quiet for <see cref="FloodQuiet"/>. The writer checks the limits, one alarm after the
/// other in arrival order; a refused alarm costs it no database work.
/// </summary>
public sealed partial class CentreCore
{
    /// <summary>A flood ends after this long without a refusal; a later one raises a new technical alarm.</summary>
    internal static readonly TimeSpan FloodQuiet = TimeSpan.FromMinutes(10);

    /// <summary>How often the open alarms of a gateway at its cap are counted again in the database (operators close some).</summary>
    private static readonly TimeSpan OpenRecount = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, GatewayIntake> _gatewayIntake = new(StringComparer.Ordinal);
    private System.Collections.Concurrent.ConcurrentDictionary<string, int>? _openByGateway;

    /// <summary>
    /// Which alarms of this batch are within their gateway's limits (the writer's own state, in arrival order). Those
    /// refused are completed here, unanswered; the floods they start are returned to be raised after the batch.
    /// </summary>
    private async Task<List<Pending>> AdmitAsync(List<Pending> alarms, List<(string GatewayId, GatewayIntake State)> floods)
    {
        if (alarms.Count == 0)
        {
            return alarms;
        }

        _openByGateway ??= new(await store.OpenAlarmCountsAsync(CancellationToken.None), StringComparer.Ordinal);
        var limits = settings.Intake;
        var now = time.GetTimestamp();
        var admitted = new List<Pending>(alarms.Count);
        var admittedNow = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in alarms)
        {
            var alarm = item.Alarm!;
            if (!_gatewayIntake.TryGetValue(alarm.GatewayId, out var gw))
            {
                gw = new GatewayIntake(limits.AlarmBurst, now);
                _gatewayIntake[alarm.GatewayId] = gw;
            }

            gw.Refill(now, limits.AlarmsPerMinute / 60.0 / time.TimestampFrequency, limits.AlarmBurst);
            var counts = alarm.State == AlarmState.Raised && alarm.Type != AlarmType.Test;
            var open = _openByGateway.GetValueOrDefault(alarm.GatewayId);
            if (counts && open >= limits.MaxOpenAlarms && (gw.OpenCountedAt is not { } counted || time.GetElapsedTime(counted) >= OpenRecount))
            {
                // The database, plus what this batch admitted already (not stored yet).
                open = await store.OpenAlarmCountAsync(alarm.GatewayId, CancellationToken.None) + admittedNow.GetValueOrDefault(alarm.GatewayId);
                _openByGateway[alarm.GatewayId] = open;
                gw.OpenCountedAt = time.GetTimestamp();
            }

            string? over = gw.Tokens < 1 ? string.Create(CultureInfo.InvariantCulture, $"more than {limits.AlarmBurst} at once or {limits.AlarmsPerMinute} a minute")
                : counts && open >= limits.MaxOpenAlarms ? string.Create(CultureInfo.InvariantCulture, $"{open} open alarms, the limit is {limits.MaxOpenAlarms}")
                : null;
            if (over is null)
            {
                gw.Tokens -= 1;
                if (counts)
                {
                    _openByGateway.AddOrUpdate(alarm.GatewayId, 1, (_, n) => n + 1); // open once admitted (a copy is corrected by the next recount)
                    admittedNow[alarm.GatewayId] = admittedNow.GetValueOrDefault(alarm.GatewayId) + 1;
                }

                admitted.Add(item);
                continue;
            }

            if (gw.FloodSince is null || time.GetElapsedTime(gw.LastRefusal) > FloodQuiet)
            {
                gw.FloodSince = time.GetUtcNow();
                floods.Add((alarm.GatewayId, gw));
            }

            gw.LastRefusal = time.GetTimestamp();
            gw.Why = over;
            log.LogDebug("Alarm {AlarmId} from {GatewayId} waits in the gateway: {Why}", alarm.AlarmId, alarm.GatewayId, over);
            item.Done.TrySetResult(false);
        }

        return admitted;
    }

    /// <summary>The one technical alarm of a flood that began (raised after the batch is stored, so it does not hold it up).</summary>
    private async Task RaiseFloodsAsync(List<(string GatewayId, GatewayIntake State)> floods)
    {
        foreach (var (gatewayId, gw) in floods)
        {
            try
            {
                await RaiseTechnicalAsync(gatewayId, CentreAlarmType.AlarmFlood, gw.FloodSince!.Value.ToUnixTimeMilliseconds(), time.GetUtcNow(),
                    $"The gateway sends more alarms than the centre takes from one home ({gw.Why}): further alarms wait in the gateway and are sent again; look at the home and its sensors", CancellationToken.None);
            }
#pragma warning disable CA1031 // the next refusal after the quiet time tries again; the alarms themselves wait in the gateway
            catch (Exception ex)
#pragma warning restore CA1031
            {
                log.LogError(ex, "Could not raise the alarm-flood alarm for {GatewayId}", gatewayId);
            }
        }
    }

    /// <summary>An operator closed one of a gateway's open alarms: one fewer towards its cap.</summary>
    private void OneFewerOpen(string gatewayId)
    {
        _openByGateway?.AddOrUpdate(gatewayId, 0, (_, n) => Math.Max(0, n - 1));
    }

    /// <summary>One gateway's intake: its token bucket and its current flood.</summary>
    private sealed class GatewayIntake(double tokens, long at)
    {
        public double Tokens { get; set; } = tokens;

        private long _at = at;

        public long? OpenCountedAt { get; set; }

        public DateTimeOffset? FloodSince { get; set; }

        public long LastRefusal { get; set; }

        public string Why { get; set; } = "";

        public void Refill(long now, double perTick, int burst)
        {
            Tokens = Math.Min(burst, Tokens + ((now - _at) * perTick));
            _at = now;
        }
    }
}
