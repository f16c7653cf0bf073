using System.Data.Common;
using System.Globalization;
using CareGateway.Protocol;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>
/// One gateway alarm for a group commit: the alarm, its <c>received</c> acknowledgement (written in the same
/// transaction, sent after the commit) and the sensor problem it reports, if any (recorded only when the alarm is new).
/// </summary>
public sealed record IncomingAlarm(StoredAlarm Alarm, AckRecord Received, SensorProblem? Problem);

/// <summary>A heartbeat for the intake's group commit, with the time the centre received it.</summary>
public sealed record HeartbeatArrival(HeartbeatMessage Heartbeat, DateTimeOffset At);

/// <summary>What a group commit found: per alarm whether it was new, per heartbeat the gateway as it was before.</summary>
public sealed record IntakeCommit(IReadOnlyList<bool> Fresh, IReadOnlyList<GatewayRecord?> HeartbeatsBefore)
{
    /// <summary>Per alarm: a copy that brought a repeat the centre did not have (the operator is alerted again).</summary>
    public IReadOnlyList<bool> Repeated { get; init; } = [];

    /// <summary>A heartbeat from a gateway that was new, silent or of unknown state makes it available again (a gateway event).</summary>
    public static bool ComesBack(GatewayRecord? before) => before is null || before.Silent || before.State is null;
}

/// <summary>
/// The group commit of <see cref="ICentreStore.CommitIntakeAsync"/>: every statement of a batch in one transaction, so one
/// commit (one fsync in SQLite with <c>synchronous=FULL</c>, one WAL flush in PostgreSQL) makes the whole batch durable.
/// Statements go to the database as one <see cref="DbBatch"/> where the provider supports it (Npgsql: one round trip),
/// else one after the other on commands prepared once per batch and re-bound (SQLite, in process).
/// </summary>
public abstract partial class SqlCentreStore
{
    private const string EnsureGatewaySql = "INSERT INTO gateway (gateway_id, seq_baseline) VALUES (@id, @baseline) ON CONFLICT (gateway_id) DO NOTHING";

    private const string InsertAlarmSql = $"""
        INSERT INTO alarm ({AlarmColumns}) VALUES (@alarm_id, @gateway_id, @origin, @seq, @type, @priority, @vkp_code,
          @triage, @state, @sensor_id, @room, @reason, @raised_at, @received_at, @copies, @status, @accepted_at,
          @accepted_by, @closed_at, @closed_by, @note, @outcome, @cause, @repeats, @repeated_at, @escalated_at)
        ON CONFLICT DO NOTHING
        """;

    /// <summary>
    /// A copy with more repeats than stored: the resident called again. A closed alarm opens again (the press came
    /// before the gateway heard of the closing, and must not go unanswered); an accepted one stays with its operator.
    /// In SET every expression sees the row as it was.
    /// </summary>
    private const string RepeatSql = """
        UPDATE alarm SET repeats = @repeats, repeated_at = @repeated_at,
          status = CASE WHEN status = 3 THEN 1 ELSE status END,
          closed_at = CASE WHEN status = 3 THEN NULL ELSE closed_at END,
          closed_by = CASE WHEN status = 3 THEN NULL ELSE closed_by END
        WHERE gateway_id = @gw AND alarm_id = @id AND repeats < @repeats AND state = 'raised'
        """;

    /// <summary>A copy counts up its own gateway's alarm only.</summary>
    private const string CountCopySql = "UPDATE alarm SET copies = copies + 1 WHERE gateway_id = @gw AND alarm_id = @id";

    private const string SensorProblemSql = """
        INSERT INTO sensor (gateway_id, sensor_id, room, problem, since, alarm_id) VALUES (@gw, @sensor, @room, @problem, @since, @alarm)
        ON CONFLICT (gateway_id, sensor_id) DO UPDATE SET room = @room, problem = @problem, since = @since, alarm_id = @alarm
        """;

    private const string InsertAckSql = """
        INSERT INTO ack (ack_id, alarm_id, gateway_id, state, by_id, at, sent_at, repeats) VALUES (@id, @alarm, @gw, @state, @by, @at, @sent, @repeats)
        ON CONFLICT (ack_id) DO NOTHING
        """;

    private const string MarkAckSentSql = "UPDATE ack SET sent_at = @at WHERE ack_id = @id AND sent_at IS NULL";

    public async Task<IntakeCommit> CommitIntakeAsync(IReadOnlyList<IncomingAlarm> alarms, IReadOnlyList<HeartbeatArrival> heartbeats, IReadOnlyList<string> acksSent, DateTimeOffset sentAt, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await using var tx = await db.BeginTransactionAsync(ct);
        await using var statements = new Statements(db, tx);

        // First the gateways and the inserts: how many rows each insert added says which alarms are new.
        // A gateway's row is made sure of once per batch, by its first alarm in it (as storing one by one would).
        var first = new List<Statement>(alarms.Count * 2);
        var insertAt = new int[alarms.Count];
        var gateways = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < alarms.Count; i++)
        {
            var a = alarms[i].Alarm;
            if (gateways.Add(a.GatewayId))
            {
                first.Add(new(EnsureGatewaySql, [("id", a.GatewayId), ("baseline", Math.Max(0, a.Seq - 1))]));
            }

            insertAt[i] = first.Count;
            first.Add(new(InsertAlarmSql, AlarmArgs(a)));
        }

        var affected = await statements.ExecuteAsync(first, ct);
        var fresh = new bool[alarms.Count];
        var repeatAt = new int[alarms.Count];
        var second = new List<Statement>(alarms.Count + acksSent.Count);
        for (var i = 0; i < alarms.Count; i++)
        {
            var item = alarms[i];
            fresh[i] = affected[insertAt[i]] == 1;
            repeatAt[i] = -1;
            if (!fresh[i])
            {
                second.Add(new(CountCopySql, [("gw", item.Alarm.GatewayId), ("id", item.Alarm.AlarmId)]));
                if (item.Alarm.Repeats > 0)
                {
                    repeatAt[i] = second.Count;
                    second.Add(new(RepeatSql, RepeatArgs(item.Alarm)));
                }
            }
            else if (item.Problem is { } p)
            {
                second.Add(new(SensorProblemSql, [("gw", p.GatewayId), ("sensor", p.SensorId), ("room", p.Room), ("problem", p.Problem), ("since", Ms(p.Since)), ("alarm", p.AlarmId)]));
            }

            var ack = item.Received;
            second.Add(new(InsertAckSql, [("id", ack.AckId), ("alarm", ack.AlarmId), ("gw", ack.GatewayId), ("state", (int)ack.State), ("by", ack.By), ("at", Ms(ack.At)), ("sent", Ms(ack.SentAt)), ("repeats", ack.Repeats)]));
        }

        foreach (var id in acksSent)
        {
            second.Add(new(MarkAckSentSql, [("at", Ms(sentAt)), ("id", id)]));
        }

        var secondAffected = await statements.ExecuteAsync(second, ct);
        var repeated = new bool[alarms.Count];
        for (var i = 0; i < alarms.Count; i++)
        {
            repeated[i] = repeatAt[i] >= 0 && secondAffected[repeatAt[i]] == 1;
        }

        // Heartbeats: the gateways as they were, read in one query, then every update in one go (one round trip each
        // on PostgreSQL). A gateway twice in one batch goes in a later round, so that it sees its first heartbeat.
        var before = new GatewayRecord?[heartbeats.Count];
        var remaining = Enumerable.Range(0, heartbeats.Count).ToList();
        while (remaining.Count > 0)
        {
            var round = new List<int>(remaining.Count);
            var later = new List<int>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var i in remaining)
            {
                (seen.Add(heartbeats[i].Heartbeat.GatewayId) ? round : later).Add(i);
            }

            var known = await ReadGatewaysAsync(db, tx, [.. seen], ct);
            var writes = new List<Statement>(round.Count);
            foreach (var i in round)
            {
                var (hb, at) = (heartbeats[i].Heartbeat, heartbeats[i].At);
                before[i] = known.GetValueOrDefault(hb.GatewayId);
                writes.Add(HeartbeatStatement(hb, at, before[i] is null));
                if (IntakeCommit.ComesBack(before[i]))
                {
                    writes.Add(new("INSERT INTO gateway_event (gateway_id, at, available) VALUES (@id, @at, 1)", [("id", hb.GatewayId), ("at", Ms(at))]));
                }
            }

            await statements.ExecuteAsync(writes, ct);
            remaining = later;
        }

        await tx.CommitAsync(ct);
        return new IntakeCommit(fresh, before) { Repeated = repeated };
    }

    public async Task MarkAcksSentAsync(IReadOnlyList<string> ackIds, DateTimeOffset at, CancellationToken ct)
    {
        if (ackIds.Count == 0)
        {
            return;
        }

        await using var db = await OpenAsync(ct);
        await using var tx = await db.BeginTransactionAsync(ct);
        await using var statements = new Statements(db, tx);
        await statements.ExecuteAsync([.. ackIds.Select(id => new Statement(MarkAckSentSql, [("at", Ms(at)), ("id", id)]))], ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>The parameters of <see cref="InsertAlarmSql"/>.</summary>
    private static (string Name, object? Value)[] AlarmArgs(StoredAlarm a) =>
    [
        ("alarm_id", a.AlarmId), ("gateway_id", a.GatewayId), ("origin", (int)a.Origin), ("seq", a.Seq), ("type", a.Type),
        ("priority", (int)a.Priority), ("vkp_code", a.VkpCode), ("triage", a.Triage), ("state", StateName(a.State)),
        ("sensor_id", a.SensorId), ("room", a.Room), ("reason", a.Reason), ("raised_at", Ms(a.RaisedAt)),
        ("received_at", Ms(a.ReceivedAt)), ("copies", a.Copies), ("status", (int)a.Status), ("accepted_at", Ms(a.AcceptedAt)),
        ("accepted_by", a.AcceptedBy), ("closed_at", Ms(a.ClosedAt)), ("closed_by", a.ClosedBy), ("note", a.Note), ("outcome", a.Outcome),
        ("cause", a.Cause), ("repeats", a.Repeats), ("repeated_at", Ms(a.RepeatedAt)),
        ("escalated_at", Ms(a.EscalatedAt)),
    ];

    /// <summary>The parameters of <see cref="RepeatSql"/>.</summary>
    private static (string Name, object? Value)[] RepeatArgs(StoredAlarm a) =>
        [("gw", a.GatewayId), ("id", a.AlarmId), ("repeats", a.Repeats), ("repeated_at", Ms(a.RepeatedAt))];

    /// <summary>The write of one heartbeat: the first contact inserts the gateway, later ones update it.</summary>
    private static Statement HeartbeatStatement(HeartbeatMessage hb, DateTimeOffset at, bool isNew) => isNew
        // First contact: alarms before what the gateway says is still pending predate the centre's knowledge of it.
        ? new("""
            INSERT INTO gateway (gateway_id, state, state_since, last_heartbeat_at, interval_seconds, pending_alarms, last_seq, seq_baseline)
            VALUES (@id, 'online', @at, @at, @interval, @pending, @seq, @baseline) ON CONFLICT (gateway_id) DO NOTHING
            """, [("id", hb.GatewayId), ("at", Ms(at)), ("interval", hb.IntervalSeconds), ("pending", hb.PendingAlarms),
            ("seq", hb.LastSeq), ("baseline", Math.Max(0, hb.LastSeq - hb.PendingAlarms))])
        : new("""
            UPDATE gateway SET last_heartbeat_at = @at, interval_seconds = @interval, pending_alarms = @pending, last_seq = @seq, silent = 0,
              state = coalesce(state, 'online'), state_since = coalesce(state_since, @at),
              seq_baseline = CASE WHEN last_heartbeat_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM alarm WHERE alarm.gateway_id = @id AND alarm.origin = 1) THEN @baseline ELSE seq_baseline END
            WHERE gateway_id = @id
            """, [("id", hb.GatewayId), ("at", Ms(at)), ("interval", hb.IntervalSeconds), ("pending", hb.PendingAlarms), ("seq", hb.LastSeq),
            ("baseline", Math.Max(0, hb.LastSeq - hb.PendingAlarms))]);

    /// <summary>Several gateways in one query.</summary>
    private static async Task<Dictionary<string, GatewayRecord>> ReadGatewaysAsync(DbConnection db, DbTransaction tx, IReadOnlyList<string> ids, CancellationToken ct)
    {
        var names = string.Join(", ", ids.Select((_, i) => string.Create(CultureInfo.InvariantCulture, $"@g{i}")));
        await using var cmd = Command(db, tx, $"SELECT {GatewayColumns} FROM gateway WHERE gateway_id IN ({names})",
            [.. ids.Select((id, i) => (string.Create(CultureInfo.InvariantCulture, $"g{i}"), (object?)id))]);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var found = new Dictionary<string, GatewayRecord>(StringComparer.Ordinal);
        while (await r.ReadAsync(ct))
        {
            var gw = ReadGateway(r);
            found[gw.GatewayId] = gw;
        }

        return found;
    }

    private readonly record struct Statement(string Sql, (string Name, object? Value)[] Args);

    /// <summary>Runs statements in one transaction: as a DbBatch (one round trip) or on commands kept per SQL text.</summary>
    private sealed class Statements(DbConnection db, DbTransaction tx) : IAsyncDisposable
    {
        private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

        public async Task<int[]> ExecuteAsync(IReadOnlyList<Statement> statements, CancellationToken ct)
        {
            var affected = new int[statements.Count];
            if (statements.Count == 0)
            {
                return affected;
            }

            if (db.CanCreateBatch)
            {
                await using var batch = db.CreateBatch();
                batch.Transaction = tx;
                foreach (var s in statements)
                {
                    var c = batch.CreateBatchCommand();
#pragma warning disable CA2100 // every SQL text is a constant of this class; values always go in as parameters
                    c.CommandText = s.Sql;
#pragma warning restore CA2100
                    foreach (var (name, value) in s.Args)
                    {
                        var p = c.CreateParameter();
                        p.ParameterName = name;
                        p.Value = value ?? DBNull.Value;
                        c.Parameters.Add(p);
                    }

                    batch.BatchCommands.Add(c);
                }

                await batch.ExecuteNonQueryAsync(ct);
                for (var i = 0; i < statements.Count; i++)
                {
                    affected[i] = batch.BatchCommands[i].RecordsAffected;
                }

                return affected;
            }

            for (var i = 0; i < statements.Count; i++)
            {
                var s = statements[i];
                if (!_commands.TryGetValue(s.Sql, out var cmd))
                {
                    cmd = Command(db, tx, s.Sql, s.Args);
                    _commands[s.Sql] = cmd;
                }
                else
                {
                    for (var j = 0; j < s.Args.Length; j++)
                    {
                        cmd.Parameters[j].Value = s.Args[j].Value ?? DBNull.Value;
                    }
                }

                affected[i] = await cmd.ExecuteNonQueryAsync(ct);
            }

            return affected;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var cmd in _commands.Values)
            {
                await cmd.DisposeAsync();
            }
        }
    }
}
