using System.Data.Common;
using System.Globalization;
using CareGateway.Protocol;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>
/// The store over ADO.NET with SQL both SQLite and PostgreSQL understand (<c>ON CONFLICT</c>, <c>@name</c> parameters).
/// Subclasses only open connections and guard migrations against a second instance doing the same.
/// </summary>
public abstract partial class SqlCentreStore : ICentreStore
{
    private const string AlarmColumns =
        "alarm_id, gateway_id, origin, seq, type, priority, vkp_code, triage, state, sensor_id, room, reason, raised_at, " +
        "received_at, copies, status, accepted_at, accepted_by, closed_at, closed_by, note, outcome, cause, repeats, repeated_at, escalated_at";

    private const string AckColumns = "ack_id, alarm_id, gateway_id, state, by_id, at, sent_at, repeats";

    private const string GatewayColumns =
        "gateway_id, label, home_group, state, state_since, software_version, last_heartbeat_at, interval_seconds, " +
        "pending_alarms, last_seq, silent, seq_baseline, gap_reported_up_to";

    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken ct);

    /// <summary>Runs inside the migration transaction first: serializes migrations of several instances.</summary>
    protected virtual string? MigrationLockSql => null;

    public Task MigrateAsync(CancellationToken ct) => MigrateAsync(int.MaxValue, ct);

    /// <summary>Applies the migrations up to <paramref name="upToVersion"/> (the tests start from an old schema).</summary>
    internal async Task MigrateAsync(int upToVersion, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await using var tx = await db.BeginTransactionAsync(ct);
        if (MigrationLockSql is { } lockSql)
        {
            await ExecAsync(db, tx, lockSql, ct);
        }

        await ExecAsync(db, tx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL)", ct);
        var applied = new HashSet<int>();
        await using (var cmd = Command(db, tx, "SELECT version FROM schema_version"))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                applied.Add(Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture));
            }
        }

        foreach (var (version, name, statements) in Migrations.All)
        {
            if (applied.Contains(version) || version > upToVersion)
            {
                continue;
            }

            foreach (var sql in statements)
            {
                await ExecAsync(db, tx, sql, ct);
            }

            await ExecAsync(db, tx, "INSERT INTO schema_version (version, name) VALUES (@v, @n)", ct, ("v", version), ("n", name));
        }

        await tx.CommitAsync(ct);
    }

    public async Task<bool> AddAlarmAsync(StoredAlarm alarm, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        if (await ExecAsync(db, null, InsertAlarmSql, ct, AlarmArgs(alarm)) == 1)
        {
            return true;
        }

        // A copy of a gateway's alarm from the same gateway (another gateway's same id is another alarm); a technical
        // alarm already raised for its cause is left as it is.
        if (alarm.Origin == AlarmOrigin.Gateway)
        {
            await ExecAsync(db, null, CountCopySql, ct, ("gw", alarm.GatewayId), ("id", alarm.AlarmId));
        }

        return false;
    }

    public async Task<IReadOnlyList<StoredAlarm>> EscalateOverdueAsync(DateTimeOffset now, IReadOnlyDictionary<AlarmPriority, DateTimeOffset> receivedBefore, IReadOnlyList<string> careTypes, CancellationToken ct)
    {
        // One statement: an alarm is escalated once, also with several instances (the second finds escalated_at set).
        var byPriority = string.Join(" OR ", receivedBefore.Keys.Select(p => $"(priority = {(int)p} AND received_at <= @before{(int)p})"));
        var types = string.Join(", ", careTypes.Select((_, i) => $"@type{i}"));
        var args = receivedBefore.Select(kv => ($"before{(int)kv.Key}", (object?)Ms(kv.Value)))
            .Concat(careTypes.Select((t, i) => ($"type{i}", (object?)t)))
            .Append(("now", (object?)Ms(now))).ToArray();
        return await QueryAsync(
            $"UPDATE alarm SET escalated_at = @now WHERE status = 1 AND state = 'raised' AND origin = 1 AND escalated_at IS NULL AND type IN ({types}) AND ({byPriority}) RETURNING {AlarmColumns}",
            ReadAlarm, ct, args);
    }

    public async Task AddAuditAsync(AuditEntry entry, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, "INSERT INTO audit (audit_id, at, actor, action, target, outcome, address) VALUES (@id, @at, @actor, @action, @target, @outcome, @address)", ct,
            ("id", entry.AuditId), ("at", Ms(entry.At)), ("actor", entry.Actor), ("action", entry.Action), ("target", entry.Target), ("outcome", entry.Outcome), ("address", entry.Address));
    }

    public Task<IReadOnlyList<AuditEntry>> AuditAsync(DateTimeOffset since, DateTimeOffset until, int limit, CancellationToken ct) =>
        QueryAsync("SELECT audit_id, at, actor, action, target, outcome, address FROM audit WHERE at >= @from AND at < @to ORDER BY at DESC, audit_id DESC LIMIT @limit",
            r => new AuditEntry { AuditId = r.GetString(0), At = FromMs(r.GetValue(1)), Actor = r.GetString(2), Action = r.GetString(3), Target = NullableString(r, 4), Outcome = r.GetString(5), Address = NullableString(r, 6) },
            ct, ("from", Ms(since)), ("to", Ms(until)), ("limit", limit));

    public async Task<RetentionOutcome> ApplyRetentionAsync(RetentionCutoffs cutoffs, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await using var tx = await db.BeginTransactionAsync(ct);
        var closed = (int)HandlingStatus.Closed;
        var alarms = 0;
        if (cutoffs.AlarmsClosedBefore is { } a)
        {
            await ExecAsync(db, tx, """
                DELETE FROM ack WHERE EXISTS (SELECT 1 FROM alarm x WHERE x.alarm_id = ack.alarm_id AND x.gateway_id = ack.gateway_id
                  AND x.status = @closed AND x.closed_at < @before)
                """, ct, ("closed", closed), ("before", Ms(a)));
            foreach (var table in new[] { "handling_step", "dispatch" })
            {
                await ExecAsync(db, tx, $"""
                    DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM alarm x WHERE x.alarm_id = {table}.alarm_id AND x.gateway_id = {table}.gateway_id
                      AND x.status = @closed AND x.closed_at < @before)
                    """, ct, ("closed", closed), ("before", Ms(a)));
            }

            alarms = await ExecAsync(db, tx, "DELETE FROM alarm WHERE status = @closed AND closed_at < @before", ct, ("closed", closed), ("before", Ms(a)));
            // The VKP send queue's rows of the alarms gone (issue 18): nothing is kept of an alarm past its time.
            await ExecAsync(db, tx, "DELETE FROM vkp_send WHERE NOT EXISTS (SELECT 1 FROM alarm x WHERE x.alarm_id = vkp_send.alarm_id AND x.gateway_id = vkp_send.gateway_id)", ct);
        }

        // After the deletion, so an alarm deleted is not also counted as a note cleared.
        var notes = cutoffs.NotesClosedBefore is { } n
            ? await ExecAsync(db, tx, "UPDATE alarm SET note = NULL WHERE status = @closed AND closed_at < @before AND note IS NOT NULL", ct, ("closed", closed), ("before", Ms(n)))
            : 0;
        if (cutoffs.NotesClosedBefore is { } t)
        {
            // The free text of a call may hold health details too: it goes with the note.
            await ExecAsync(db, tx, """
                UPDATE handling_step SET text = NULL WHERE text IS NOT NULL AND EXISTS (SELECT 1 FROM alarm x WHERE x.alarm_id = handling_step.alarm_id
                  AND x.gateway_id = handling_step.gateway_id AND x.status = @closed AND x.closed_at < @before)
                """, ct, ("closed", closed), ("before", Ms(t)));
        }

        var audit = cutoffs.AuditBefore is { } b
            ? await ExecAsync(db, tx, "DELETE FROM audit WHERE at < @before", ct, ("before", Ms(b)))
            : 0;
        await tx.CommitAsync(ct);
        return new RetentionOutcome(alarms, notes, audit);
    }

    public Task<IReadOnlyList<TestAlarmSeen>> TestAlarmsSeenAsync(CancellationToken ct) =>
        QueryAsync($"""
            SELECT g.gateway_id,
              (SELECT max(t.raised_at) FROM alarm t WHERE t.type = '{AlarmType.Test}' AND t.gateway_id = g.gateway_id AND t.origin = 1
                 AND t.received_at = (SELECT max(u.received_at) FROM alarm u WHERE u.type = '{AlarmType.Test}' AND u.gateway_id = g.gateway_id AND u.origin = 1)),
              (SELECT max(u.received_at) FROM alarm u WHERE u.type = '{AlarmType.Test}' AND u.gateway_id = g.gateway_id AND u.origin = 1),
              (SELECT min(e.at) FROM gateway_event e WHERE e.gateway_id = g.gateway_id)
            FROM gateway g ORDER BY g.gateway_id
            """, r => new TestAlarmSeen(r.GetString(0), NullableMs(r, 1), NullableMs(r, 2), NullableMs(r, 3)), ct);

    public async Task<bool> RecordRepeatAsync(StoredAlarm alarm, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        return alarm.Repeats > 0 && await ExecAsync(db, null, RepeatSql, ct, RepeatArgs(alarm)) == 1;
    }

    public async Task<StoredAlarm?> GetAlarmAsync(AlarmKey key, CancellationToken ct) =>
        First(await QueryAsync($"SELECT {AlarmColumns} FROM alarm WHERE gateway_id = @gw AND alarm_id = @id", ReadAlarm, ct, ("gw", key.GatewayId), ("id", key.AlarmId)));

    public Task<IReadOnlyList<StoredAlarm>> FindAlarmsAsync(string alarmId, CancellationToken ct) =>
        QueryAsync($"SELECT {AlarmColumns} FROM alarm WHERE alarm_id = @id ORDER BY received_at, gateway_id", ReadAlarm, ct, ("id", alarmId));

    private const string OpenWhere = "status < 3 AND state = 'raised'";

    /// <summary>The queue's order: by priority; within one, an alarm the resident repeated first; then the longest waiting.</summary>
    private const string QueueOrder = "priority, CASE WHEN repeats > 0 THEN 0 ELSE 1 END, raised_at";

    public async Task<IReadOnlyDictionary<string, int>> OpenAlarmCountsAsync(CancellationToken ct) =>
        (await QueryAsync($"SELECT gateway_id, count(*) FROM alarm WHERE {OpenOwnAlarm} GROUP BY gateway_id",
            r => (Gateway: r.GetString(0), Count: Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture)), ct))
        .ToDictionary(x => x.Gateway, x => x.Count, StringComparer.Ordinal);

    public async Task<int> OpenAlarmCountAsync(string gatewayId, CancellationToken ct) =>
        (await QueryAsync($"SELECT count(*) FROM alarm WHERE gateway_id = @gw AND {OpenOwnAlarm}",
            r => Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture), ct, ("gw", gatewayId)))[0];

    /// <summary>A gateway's own alarm in the queue (the intake's cap counts these).</summary>
    private const string OpenOwnAlarm = "origin = 1 AND status < 3 AND state = 'raised' AND type <> 'test'";

    public Task<IReadOnlyList<StoredAlarm>> OpenAlarmsAsync(CancellationToken ct) =>
        QueryAsync($"SELECT {AlarmColumns} FROM alarm WHERE {OpenWhere} ORDER BY {QueueOrder}", ReadAlarm, ct);

    public async Task<OpenAlarmsPage> OpenAlarmsPageAsync(int skip, int take, CancellationToken ct)
    {
        var rows = await QueryAsync(
            $"SELECT {AlarmColumns} FROM alarm WHERE {OpenWhere} ORDER BY {QueueOrder}, gateway_id, alarm_id LIMIT @take OFFSET @skip",
            ReadAlarm, ct, ("take", take), ("skip", skip));
        var total = await QueryAsync($"SELECT count(*) FROM alarm WHERE {OpenWhere}", r => Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture), ct);
        return new OpenAlarmsPage(rows, total[0]);
    }

    public Task<IReadOnlyList<StoredAlarm>> AlarmsAsync(DateTimeOffset from, DateTimeOffset until, int limit, CancellationToken ct) =>
        QueryAsync(
            $"SELECT {AlarmColumns} FROM alarm WHERE raised_at >= @from AND raised_at < @to ORDER BY raised_at DESC LIMIT @limit",
            ReadAlarm, ct, ("from", Ms(from)), ("to", Ms(until)), ("limit", limit));

    public async Task<bool> AcceptAsync(AlarmKey key, string by, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        return await ExecAsync(db, null,
            "UPDATE alarm SET status = 2, accepted_at = @at, accepted_by = @by WHERE gateway_id = @gw AND alarm_id = @id AND status < 2", ct,
            ("at", Ms(at)), ("by", by), ("gw", key.GatewayId), ("id", key.AlarmId)) == 1;
    }

    public async Task<bool> CloseAsync(AlarmKey key, string by, DateTimeOffset at, string? note, string? outcome, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await using var tx = await db.BeginTransactionAsync(ct);
        if (await ExecAsync(db, tx, """
            UPDATE alarm SET status = 3, closed_at = @at, closed_by = @by, note = @note, outcome = @outcome,
              accepted_at = coalesce(accepted_at, @at), accepted_by = coalesce(accepted_by, @by)
            WHERE gateway_id = @gw AND alarm_id = @id AND status < 3
            """, ct, ("at", Ms(at)), ("by", by), ("note", note), ("outcome", outcome), ("gw", key.GatewayId), ("id", key.AlarmId)) != 1)
        {
            return false;
        }

        // The teams' links end with the alarm (issue 18): a link sent by text message must not outlive the task.
        await ExecAsync(db, tx, "UPDATE dispatch SET ended_at = @at WHERE gateway_id = @gw AND alarm_id = @id AND ended_at IS NULL", ct,
            ("at", Ms(at)), ("gw", key.GatewayId), ("id", key.AlarmId));
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task AddAckAsync(AckRecord ack, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, """
            INSERT INTO ack (ack_id, alarm_id, gateway_id, state, by_id, at, sent_at, repeats) VALUES (@id, @alarm, @gw, @state, @by, @at, @sent, @repeats)
            ON CONFLICT (ack_id) DO NOTHING
            """, ct, ("id", ack.AckId), ("alarm", ack.AlarmId), ("gw", ack.GatewayId), ("state", (int)ack.State), ("by", ack.By),
            ("at", Ms(ack.At)), ("sent", Ms(ack.SentAt)), ("repeats", ack.Repeats));
    }

    public async Task MarkAckSentAsync(string ackId, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, "UPDATE ack SET sent_at = @at WHERE ack_id = @id AND sent_at IS NULL", ct, ("at", Ms(at)), ("id", ackId));
    }

    public Task<IReadOnlyList<AckRecord>> AcksAsync(AlarmKey key, CancellationToken ct) =>
        QueryAsync($"SELECT {AckColumns} FROM ack WHERE gateway_id = @gw AND alarm_id = @id ORDER BY at, state", ReadAck, ct,
            ("gw", key.GatewayId), ("id", key.AlarmId));

    public Task<IReadOnlyList<AckRecord>> UnsentAcksAsync(int limit, CancellationToken ct) =>
        QueryAsync($"SELECT {AckColumns} FROM ack WHERE sent_at IS NULL ORDER BY at, state LIMIT @limit", ReadAck, ct, ("limit", limit));

    public async Task<GatewayState?> RecordStatusAsync(StatusMessage status, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await using var tx = await db.BeginTransactionAsync(ct);
        var before = await ReadGatewayAsync(db, tx, status.GatewayId, ct);
        var state = status.State == GatewayState.Online ? "online" : "offline";
        if (before is null)
        {
            await ExecAsync(db, tx, "INSERT INTO gateway (gateway_id, state, state_since, software_version) VALUES (@id, @state, @since, @sw) ON CONFLICT (gateway_id) DO NOTHING", ct,
                ("id", status.GatewayId), ("state", state), ("since", Ms(status.Since)), ("sw", status.SoftwareVersion));
        }
        else
        {
            // A gateway that comes online is no longer silent; one that goes offline is reported as offline instead.
            await ExecAsync(db, tx, "UPDATE gateway SET state = @state, state_since = @since, software_version = coalesce(@sw, software_version), silent = 0 WHERE gateway_id = @id", ct,
                ("id", status.GatewayId), ("state", state), ("since", Ms(status.Since)), ("sw", status.SoftwareVersion));
        }

        await tx.CommitAsync(ct);
        _ = at;
        return before?.State;
    }

    public async Task<GatewayRecord?> RecordHeartbeatAsync(HeartbeatMessage heartbeat, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await using var tx = await db.BeginTransactionAsync(ct);
        var before = await RecordHeartbeatAsync(db, tx, heartbeat, at, ct);
        await tx.CommitAsync(ct);
        return before;
    }

    /// <summary>Records a heartbeat inside the caller's transaction; returns the gateway as it was before.</summary>
    private static async Task<GatewayRecord?> RecordHeartbeatAsync(DbConnection db, DbTransaction tx, HeartbeatMessage heartbeat, DateTimeOffset at, CancellationToken ct)
    {
        var before = await ReadGatewayAsync(db, tx, heartbeat.GatewayId, ct);
        var write = HeartbeatStatement(heartbeat, at, before is null);
        await ExecAsync(db, tx, write.Sql, ct, write.Args);
        return before;
    }

    public async Task EnsureGatewayAsync(string gatewayId, long seqBaseline, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, "INSERT INTO gateway (gateway_id, seq_baseline) VALUES (@id, @baseline) ON CONFLICT (gateway_id) DO NOTHING", ct,
            ("id", gatewayId), ("baseline", seqBaseline));
    }

    public async Task<bool> MarkSilentAsync(string gatewayId, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        _ = at;
        return await ExecAsync(db, null, "UPDATE gateway SET silent = 1 WHERE gateway_id = @id AND silent = 0", ct, ("id", gatewayId)) == 1;
    }

    public async Task SetGapReportedAsync(string gatewayId, long upTo, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, "UPDATE gateway SET gap_reported_up_to = @upTo WHERE gateway_id = @id AND gap_reported_up_to < @upTo", ct,
            ("id", gatewayId), ("upTo", upTo));
    }

    public async Task SetGatewayLabelAsync(string gatewayId, string? label, string? homeGroup, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, """
            INSERT INTO gateway (gateway_id, label, home_group) VALUES (@id, @label, @group)
            ON CONFLICT (gateway_id) DO UPDATE SET label = @label, home_group = @group
            """, ct, ("id", gatewayId), ("label", label), ("group", homeGroup));
    }

    public async Task<GatewayRecord?> GetGatewayAsync(string gatewayId, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        return await ReadGatewayAsync(db, null, gatewayId, ct);
    }

    public Task<IReadOnlyList<GatewayRecord>> GatewaysAsync(CancellationToken ct) =>
        QueryAsync($"SELECT {GatewayColumns} FROM gateway ORDER BY gateway_id", ReadGateway, ct);

    public Task<IReadOnlyList<long>> KnownSeqsAsync(string gatewayId, long fromSeq, long toSeq, CancellationToken ct) =>
        QueryAsync("SELECT DISTINCT seq FROM alarm WHERE gateway_id = @id AND origin = 1 AND seq >= @from AND seq <= @to ORDER BY seq",
            r => Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), ct, ("id", gatewayId), ("from", fromSeq), ("to", toSeq));

    public async Task AddGatewayEventAsync(GatewayEvent e, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, "INSERT INTO gateway_event (gateway_id, at, available) VALUES (@id, @at, @available)", ct,
            ("id", e.GatewayId), ("at", Ms(e.At)), ("available", e.Available ? 1 : 0));
    }

    public Task<IReadOnlyList<GatewayEvent>> GatewayEventsAsync(DateTimeOffset until, CancellationToken ct) =>
        QueryAsync("SELECT gateway_id, at, available FROM gateway_event WHERE at < @to ORDER BY at",
            r => new GatewayEvent(r.GetString(0), FromMs(r.GetValue(1)), Convert.ToInt32(r.GetValue(2), CultureInfo.InvariantCulture) == 1), ct, ("to", Ms(until)));

    public async Task RecordSensorProblemAsync(SensorProblem problem, CancellationToken ct)
    {
        var p = problem;
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, """
            INSERT INTO sensor (gateway_id, sensor_id, room, problem, since, alarm_id) VALUES (@gw, @sensor, @room, @problem, @since, @alarm)
            ON CONFLICT (gateway_id, sensor_id) DO UPDATE SET room = @room, problem = @problem, since = @since, alarm_id = @alarm
            """, ct, ("gw", p.GatewayId), ("sensor", p.SensorId), ("room", p.Room), ("problem", p.Problem), ("since", Ms(p.Since)), ("alarm", p.AlarmId));
    }

    public Task<IReadOnlyList<SensorProblem>> SensorsNeedingAttentionAsync(CancellationToken ct) =>
        QueryAsync("""
            SELECT s.gateway_id, s.sensor_id, s.room, s.problem, s.since, s.alarm_id FROM sensor s
            JOIN alarm a ON a.gateway_id = s.gateway_id AND a.alarm_id = s.alarm_id WHERE a.status < 3 ORDER BY s.since
            """, r => new SensorProblem(r.GetString(0), r.GetString(1), NullableString(r, 2), r.GetString(3), FromMs(r.GetValue(4)), r.GetString(5)), ct);

    public async Task<CentreUser?> FindUserAsync(string userName, CancellationToken ct) =>
        await QueryAsync("SELECT user_name, operator_id, password_hash, role, security_stamp, totp_secret, totp_last_step FROM centre_user WHERE user_name = @name",
            r => new CentreUser
            {
                UserName = r.GetString(0), OperatorId = r.GetString(1), PasswordHash = r.GetString(2), Role = r.GetString(3),
                SecurityStamp = r.GetString(4), TotpSecret = NullableString(r, 5), TotpLastStep = Convert.ToInt64(r.GetValue(6), CultureInfo.InvariantCulture),
            },
            ct, ("name", userName)) is { Count: > 0 } users ? users[0] : null;

    public async Task<int> CountUsersAsync(CancellationToken ct) =>
        (await QueryAsync("SELECT count(*) FROM centre_user", r => Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture), ct))[0];

    public async Task SaveUserAsync(CentreUser user, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, """
            INSERT INTO centre_user (user_name, operator_id, password_hash, role, security_stamp, totp_secret, totp_last_step)
            VALUES (@name, @op, @hash, @role, @stamp, @totp, @step)
            ON CONFLICT (user_name) DO UPDATE SET password_hash = @hash, role = @role, security_stamp = @stamp, totp_secret = @totp, totp_last_step = @step
            """, ct, ("name", user.UserName), ("op", user.OperatorId), ("hash", user.PasswordHash), ("role", user.Role),
            ("stamp", user.SecurityStamp), ("totp", user.TotpSecret), ("step", user.TotpLastStep));
    }

    public async Task<bool> TryAdvanceTotpStepAsync(string userName, long timeStep, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        return await ExecAsync(db, null, "UPDATE centre_user SET totp_last_step = @step WHERE user_name = @name AND totp_secret IS NOT NULL AND totp_last_step < @step",
            ct, ("name", userName), ("step", timeStep)) == 1;
    }

    /// <summary>One statement of SQL without parameters, for the tests (rows as an old version wrote them).</summary>
    internal async Task ExecuteForTestsAsync(string sql, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, sql, ct);
    }

    private static T? First<T>(IReadOnlyList<T> list) where T : class => list.Count > 0 ? list[0] : null;

    protected static long? Ms(DateTimeOffset? t) => t?.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(object value) => DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(value, CultureInfo.InvariantCulture));

    private static DateTimeOffset? NullableMs(DbDataReader r, int i) => r.IsDBNull(i) ? null : FromMs(r.GetValue(i));

    private static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static int? NullableInt(DbDataReader r, int i) => r.IsDBNull(i) ? null : Convert.ToInt32(r.GetValue(i), CultureInfo.InvariantCulture);

    private static long? NullableLong(DbDataReader r, int i) => r.IsDBNull(i) ? null : Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);

    private static string StateName(AlarmState s) => s == AlarmState.Cancelled ? "cancelled" : "raised";

    private static StoredAlarm ReadAlarm(DbDataReader r) => new()
    {
        AlarmId = r.GetString(0),
        GatewayId = r.GetString(1),
        Origin = (AlarmOrigin)Convert.ToInt32(r.GetValue(2), CultureInfo.InvariantCulture),
        Seq = Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture),
        Type = r.GetString(4),
        Priority = (AlarmPriority)Convert.ToInt32(r.GetValue(5), CultureInfo.InvariantCulture),
        VkpCode = r.GetString(6),
        Triage = r.GetString(7),
        State = r.GetString(8) == "cancelled" ? AlarmState.Cancelled : AlarmState.Raised,
        SensorId = NullableString(r, 9),
        Room = NullableString(r, 10),
        Reason = r.GetString(11),
        RaisedAt = FromMs(r.GetValue(12)),
        ReceivedAt = FromMs(r.GetValue(13)),
        Copies = Convert.ToInt32(r.GetValue(14), CultureInfo.InvariantCulture),
        Status = (HandlingStatus)Convert.ToInt32(r.GetValue(15), CultureInfo.InvariantCulture),
        AcceptedAt = NullableMs(r, 16),
        AcceptedBy = NullableString(r, 17),
        ClosedAt = NullableMs(r, 18),
        ClosedBy = NullableString(r, 19),
        Note = NullableString(r, 20),
        Outcome = NullableString(r, 21),
        Cause = NullableString(r, 22),
        Repeats = Convert.ToInt32(r.GetValue(23), CultureInfo.InvariantCulture),
        RepeatedAt = NullableMs(r, 24),
        EscalatedAt = NullableMs(r, 25),
    };

    private static AckRecord ReadAck(DbDataReader r) => new()
    {
        AckId = r.GetString(0),
        AlarmId = r.GetString(1),
        GatewayId = r.GetString(2),
        State = (AckState)Convert.ToInt32(r.GetValue(3), CultureInfo.InvariantCulture),
        By = r.GetString(4),
        At = FromMs(r.GetValue(5)),
        SentAt = NullableMs(r, 6),
        Repeats = Convert.ToInt32(r.GetValue(7), CultureInfo.InvariantCulture),
    };

    private static GatewayRecord ReadGateway(DbDataReader r) => new()
    {
        GatewayId = r.GetString(0),
        Label = NullableString(r, 1),
        HomeGroup = NullableString(r, 2),
        State = NullableString(r, 3) switch { "online" => GatewayState.Online, "offline" => GatewayState.Offline, _ => null },
        StateSince = NullableMs(r, 4),
        SoftwareVersion = NullableString(r, 5),
        LastHeartbeatAt = NullableMs(r, 6),
        IntervalSeconds = NullableInt(r, 7),
        PendingAlarms = NullableInt(r, 8),
        LastSeq = NullableLong(r, 9),
        Silent = Convert.ToInt32(r.GetValue(10), CultureInfo.InvariantCulture) == 1,
        SeqBaseline = Convert.ToInt64(r.GetValue(11), CultureInfo.InvariantCulture),
        GapReportedUpTo = Convert.ToInt64(r.GetValue(12), CultureInfo.InvariantCulture),
    };

    private static async Task<GatewayRecord?> ReadGatewayAsync(DbConnection db, DbTransaction? tx, string gatewayId, CancellationToken ct)
    {
        await using var cmd = Command(db, tx, $"SELECT {GatewayColumns} FROM gateway WHERE gateway_id = @id", ("id", gatewayId));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct) ? ReadGateway(r) : null;
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = Command(db, null, sql, args);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await r.ReadAsync(ct))
        {
            list.Add(read(r));
        }

        return list;
    }

    private static async Task<int> ExecAsync(DbConnection db, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(db, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

#pragma warning disable CA2100 // every SQL text is a constant of this class; values always go in as parameters
    private static DbCommand Command(DbConnection db, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }

        return cmd;
    }
#pragma warning restore CA2100
}
