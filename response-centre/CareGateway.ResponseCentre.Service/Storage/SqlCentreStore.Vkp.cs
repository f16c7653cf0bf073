using CareGateway.Protocol;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>Where one closed alarm stands in the VKP send queue (table <c>vkp_send</c>, migration 10).</summary>
public sealed record VkpSendState(AlarmKey Key, DateTimeOffset? SentAt, int Attempts, string? LastError, DateTimeOffset? LastAttemptAt, DateTimeOffset? NextAttemptAt);

/// <summary>The VKP send queue (issue 18): closed care alarms that the sender has still to deliver, and what it did.</summary>
public abstract partial class SqlCentreStore
{
    public Task<IReadOnlyList<StoredAlarm>> VkpDueAsync(DateTimeOffset now, DateTimeOffset? closedSince, IReadOnlyList<string> careTypes, int limit, CancellationToken ct)
    {
        var types = string.Join(", ", careTypes.Select((_, i) => $"@type{i}"));
        var args = careTypes.Select((t, i) => ($"type{i}", (object?)t))
            .Append(("closed", (int)HandlingStatus.Closed)).Append(("now", Ms(now))).Append(("since", Ms(closedSince ?? DateTimeOffset.UnixEpoch)))
            .Append(("limit", limit)).ToArray();
        // Oldest closed first; an alarm waiting out its own back-off (next_attempt_at in the future) is not due.
        return QueryAsync(
            $"""
            SELECT {AlarmColumns} FROM alarm
            WHERE status = @closed AND state = 'raised' AND origin = 1 AND type IN ({types}) AND closed_at >= @since
              AND NOT EXISTS (SELECT 1 FROM vkp_send s WHERE s.gateway_id = alarm.gateway_id AND s.alarm_id = alarm.alarm_id
                AND (s.sent_at IS NOT NULL OR s.next_attempt_at > @now))
            ORDER BY closed_at, gateway_id, alarm_id LIMIT @limit
            """,
            ReadAlarm, ct, args);
    }

    public async Task<DateTimeOffset?> VkpNextAttemptAsync(CancellationToken ct)
    {
        var rows = await QueryAsync("SELECT min(next_attempt_at) FROM vkp_send WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL", r => NullableMs(r, 0), ct);
        return rows.Count > 0 ? rows[0] : null;
    }

    public async Task MarkVkpSentAsync(AlarmKey key, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, """
            INSERT INTO vkp_send (gateway_id, alarm_id, sent_at, attempts, last_attempt_at) VALUES (@gw, @id, @at, 1, @at)
            ON CONFLICT (gateway_id, alarm_id) DO UPDATE SET sent_at = @at, attempts = vkp_send.attempts + 1, last_attempt_at = @at, next_attempt_at = NULL
            """, ct, ("gw", key.GatewayId), ("id", key.AlarmId), ("at", Ms(at)));
    }

    public async Task MarkVkpFailedAsync(AlarmKey key, DateTimeOffset at, string reason, DateTimeOffset? nextAttemptAt, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, """
            INSERT INTO vkp_send (gateway_id, alarm_id, attempts, last_error, last_attempt_at, next_attempt_at) VALUES (@gw, @id, 1, @error, @at, @next)
            ON CONFLICT (gateway_id, alarm_id) DO UPDATE SET attempts = vkp_send.attempts + 1, last_error = @error, last_attempt_at = @at, next_attempt_at = @next
            """, ct, ("gw", key.GatewayId), ("id", key.AlarmId), ("error", reason), ("at", Ms(at)), ("next", Ms(nextAttemptAt)));
    }

    public async Task<VkpSendState?> VkpSendStateAsync(AlarmKey key, CancellationToken ct) => First(await QueryAsync(
        "SELECT gateway_id, alarm_id, sent_at, attempts, last_error, last_attempt_at, next_attempt_at FROM vkp_send WHERE gateway_id = @gw AND alarm_id = @id",
        r => new VkpSendState(new AlarmKey(r.GetString(0), r.GetString(1)), NullableMs(r, 2), NullableInt(r, 3) ?? 0, NullableString(r, 4), NullableMs(r, 5), NullableMs(r, 6)),
        ct, ("gw", key.GatewayId), ("id", key.AlarmId)));
}
