using System.Globalization;
using CareGateway.Core;
using CareGateway.Protocol;
using Microsoft.Data.Sqlite;

namespace CareGateway.Uplink;

/// <summary>An alarm in the outbox with its delivery state.</summary>
public sealed record OutboxAlarm(NewAlarm Alarm, long Seq, int Attempts, DateTimeOffset? LastSentAt, AckState? Ack)
{
    public AlarmMessage ToMessage(string gatewayId, DateTimeOffset sentAt, int attempt) => new()
    {
        AlarmId = Alarm.AlarmId,
        GatewayId = gatewayId,
        Seq = Seq,
        Type = Alarm.Type,
        Priority = Alarm.Priority,
        VkpCode = Alarm.VkpCode,
        Triage = Alarm.Triage,
        State = Alarm.State,
        SensorId = Alarm.SensorId,
        Room = Alarm.Room,
        RaisedAt = Alarm.RaisedAt,
        SentAt = sentAt,
        Attempt = attempt,
        Reason = Alarm.Reason,
    };
}

/// <summary>What applying an acknowledgement did.</summary>
public enum AckOutcome
{
    /// <summary>The alarm moved to the acknowledged state.</summary>
    Applied,

    /// <summary>The alarm already had this or a later state (a QoS 1 redelivery, or steps out of order).</summary>
    AlreadyKnown,

    /// <summary>No alarm with that id is in the outbox.</summary>
    UnknownAlarm,
}

/// <summary>
/// The durable outbox: SQLite in WAL mode with <c>synchronous=FULL</c>, so that an alarm whose
/// <see cref="AddAsync"/> has completed survives kill -9 and power loss. Sequence numbers come from AUTOINCREMENT and
/// are never reused. One connection, serialized by a lock: the gateway's write rate is tiny.
/// </summary>
public sealed class SqliteOutbox : IAlarmOutbox, IDisposable
{
    private const int SchemaVersion = 1;
    private readonly Lock _gate = new();
    private readonly SqliteConnection _db;

    public SqliteOutbox(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        DatabasePath = path;
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Execute("PRAGMA journal_mode=WAL;");
        Execute("PRAGMA synchronous=FULL;");
        Migrate();
    }

    public string DatabasePath { get; }

    public Task<long> AddAsync(NewAlarm alarm, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = """
                INSERT INTO alarm (alarm_id, type, priority, vkp_code, triage, state, sensor_id, room, raised_at, reason)
                VALUES ($id, $type, $priority, $vkp, $triage, $state, $sensor, $room, $raised, $reason)
                ON CONFLICT(alarm_id) DO NOTHING;
                SELECT seq FROM alarm WHERE alarm_id = $id;
                """;
            cmd.Parameters.AddWithValue("$id", alarm.AlarmId);
            cmd.Parameters.AddWithValue("$type", alarm.Type);
            cmd.Parameters.AddWithValue("$priority", (int)alarm.Priority);
            cmd.Parameters.AddWithValue("$vkp", alarm.VkpCode);
            cmd.Parameters.AddWithValue("$triage", alarm.Triage);
            cmd.Parameters.AddWithValue("$state", alarm.State == AlarmState.Cancelled ? "cancelled" : "raised");
            cmd.Parameters.AddWithValue("$sensor", (object?)alarm.SensorId ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$room", (object?)alarm.Room ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$raised", Format(alarm.RaisedAt));
            cmd.Parameters.AddWithValue("$reason", alarm.Reason);
            return Task.FromResult(Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Alarms the centre has not yet acknowledged as received: most urgent first, then oldest first.</summary>
    public IReadOnlyList<OutboxAlarm> Pending(int max = 100)
    {
        lock (_gate)
        {
            return Query($"WHERE ack_state < {(int)AckState.Received} ORDER BY priority, seq LIMIT {max}");
        }
    }

    /// <summary>
    /// Alarms to send now: never sent, sent at or before <paramref name="resendCutoff"/> without a <c>received</c>, or
    /// sent before <paramref name="connectedSince"/> (on an earlier connection, whose copy may be lost with it).
    /// Most urgent first, then oldest first.
    /// </summary>
    public IReadOnlyList<OutboxAlarm> Due(DateTimeOffset resendCutoff, DateTimeOffset connectedSince, int max = 100)
    {
        lock (_gate)
        {
            return Query(
                $"WHERE ack_state < {(int)AckState.Received} AND (last_sent_at IS NULL OR last_sent_at <= $cutoff OR last_sent_at < $since) ORDER BY priority, seq LIMIT {max}",
                ("$cutoff", Format(resendCutoff)),
                ("$since", Format(connectedSince)));
        }
    }

    /// <summary>The earliest last send among alarms still waiting for <c>received</c>; null when none was sent.</summary>
    public DateTimeOffset? OldestUnreceivedSend
    {
        get
        {
            lock (_gate)
            {
                return Scalar($"SELECT min(last_sent_at) FROM alarm WHERE ack_state < {(int)AckState.Received} AND last_sent_at IS NOT NULL") is string s ? Parse(s) : null;
            }
        }
    }

    public OutboxAlarm? Find(string alarmId)
    {
        lock (_gate)
        {
            return Query("WHERE alarm_id = $id", ("$id", alarmId)).SingleOrDefault();
        }
    }

    public IReadOnlyList<OutboxAlarm> All()
    {
        lock (_gate)
        {
            return Query("ORDER BY seq");
        }
    }

    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return Convert.ToInt32(Scalar($"SELECT count(*) FROM alarm WHERE ack_state < {(int)AckState.Received}"), CultureInfo.InvariantCulture);
            }
        }
    }

    public long LastSeq
    {
        get
        {
            lock (_gate)
            {
                // From AUTOINCREMENT's own record: right even after delivered alarms were pruned.
                return Convert.ToInt64(Scalar("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'alarm'), 0)"), CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>Records one send attempt; returns the attempt number.</summary>
    public int MarkSent(string alarmId, DateTimeOffset at)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE alarm SET attempts = attempts + 1, last_sent_at = $at WHERE alarm_id = $id RETURNING attempts;";
            cmd.Parameters.AddWithValue("$id", alarmId);
            cmd.Parameters.AddWithValue("$at", Format(at));
            return Convert.ToInt32(cmd.ExecuteScalar() ?? 0, CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Applies an acknowledgement if it moves the alarm forward (received, then accepted, then closed).</summary>
    public AckOutcome ApplyAck(AckMessage ack)
    {
        ArgumentNullException.ThrowIfNull(ack);
        var column = ack.State switch
        {
            AckState.Received => "received_at",
            AckState.Accepted => "accepted_at",
            AckState.Closed => "closed_at",
            _ => throw new ArgumentOutOfRangeException(nameof(ack), ack.State, "unknown acknowledgement state"),
        };

        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            // A later step implies the earlier ones: an 'accepted' that overtakes its 'received' also stops re-sending.
            cmd.CommandText = $"""
                UPDATE alarm SET ack_state = $state, {column} = $at, ack_by = $by,
                  received_at = coalesce(received_at, $at)
                WHERE alarm_id = $id AND ack_state < $state;
                """;
            cmd.Parameters.AddWithValue("$state", (int)ack.State);
            cmd.Parameters.AddWithValue("$at", Format(ack.At));
            cmd.Parameters.AddWithValue("$by", ack.By);
            cmd.Parameters.AddWithValue("$id", ack.AlarmId);
            if (cmd.ExecuteNonQuery() == 1)
            {
                return AckOutcome.Applied;
            }

            using var exists = _db.CreateCommand();
            exists.CommandText = "SELECT 1 FROM alarm WHERE alarm_id = $id;";
            exists.Parameters.AddWithValue("$id", ack.AlarmId);
            return exists.ExecuteScalar() is null ? AckOutcome.UnknownAlarm : AckOutcome.AlreadyKnown;
        }
    }

    public void Dispose() => _db.Dispose();

    private void Migrate()
    {
        var version = Convert.ToInt32(Scalar("PRAGMA user_version;"), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException($"The outbox at '{DatabasePath}' has schema version {version}; this build knows {SchemaVersion}. Refusing to touch it.");
        }

        if (version < 1)
        {
            using var tx = _db.BeginTransaction();
            Execute("""
                CREATE TABLE alarm (
                  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
                  alarm_id     TEXT NOT NULL UNIQUE,
                  type         TEXT NOT NULL,
                  priority     INTEGER NOT NULL,
                  vkp_code     TEXT NOT NULL,
                  triage       TEXT NOT NULL,
                  state        TEXT NOT NULL,
                  sensor_id    TEXT,
                  room         TEXT,
                  raised_at    TEXT NOT NULL,
                  reason       TEXT NOT NULL,
                  attempts     INTEGER NOT NULL DEFAULT 0,
                  last_sent_at TEXT,
                  ack_state    INTEGER NOT NULL DEFAULT 0,
                  ack_by       TEXT,
                  received_at  TEXT,
                  accepted_at  TEXT,
                  closed_at    TEXT
                );
                CREATE INDEX alarm_pending ON alarm (ack_state, priority, seq);
                PRAGMA user_version = 1;
                """, tx);
            tx.Commit();
        }
    }

    private List<OutboxAlarm> Query(string where, params (string Name, object Value)[] parameters)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"""
            SELECT alarm_id, type, priority, vkp_code, triage, state, sensor_id, room, raised_at, reason,
                   seq, attempts, last_sent_at, ack_state
            FROM alarm {where};
            """;
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        var result = new List<OutboxAlarm>();
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            var alarm = new NewAlarm(
                AlarmId: reader.GetString(0),
                Type: reader.GetString(1),
                Priority: (AlarmPriority)reader.GetInt32(2),
                VkpCode: reader.GetString(3),
                Triage: reader.GetString(4),
                State: reader.GetString(5) == "cancelled" ? AlarmState.Cancelled : AlarmState.Raised,
                SensorId: reader.IsDBNull(6) ? null : reader.GetString(6),
                Room: reader.IsDBNull(7) ? null : reader.GetString(7),
                RaisedAt: Parse(reader.GetString(8)),
                Reason: reader.GetString(9));
            var ack = reader.GetInt32(13);
            result.Add(new OutboxAlarm(
                alarm,
                reader.GetInt64(10),
                reader.GetInt32(11),
                reader.IsDBNull(12) ? null : Parse(reader.GetString(12)),
                ack == 0 ? null : (AckState)ack));
        }

        return result;
    }

    private object? Scalar(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private void Execute(string sql, SqliteTransaction? tx = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static string Format(DateTimeOffset value) => value.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string value) => DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
