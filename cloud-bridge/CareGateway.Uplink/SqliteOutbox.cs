using System.Globalization;
using CareGateway.Core;
using CareGateway.Protocol;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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
/// The durable outbox: SQLite in WAL mode. Writes whose loss would lose or silence an alarm commit with
/// <c>synchronous=FULL</c> (an fsync of the WAL): storing an alarm (so an alarm whose <see cref="AddAsync"/> has completed
/// survives kill -9 and power loss) and the centre's <c>accepted</c> and <c>closed</c> (a lost <c>closed</c> would keep
/// an alarm open and hold back the next one of its sensor). The bookkeeping whose loss only causes a re-send, which the
/// centre drops by alarm id, commits with <c>synchronous=NORMAL</c>: a send attempt and the centre's <c>received</c>.
/// Such a commit survives kill -9 at once and a power cut from the next FULL commit on (the WAL is written in order, so
/// that fsync covers it). Sequence numbers come from AUTOINCREMENT and are never reused. One connection, serialized by a
/// lock. docs/performance.md has the figures behind this split.
/// </summary>
public sealed class SqliteOutbox : IAlarmOutbox, IDisposable
{
    private const int SchemaVersion = 1;
    private const int SqliteCorrupt = 11;
    private const int SqliteFull = 13;
    private const int SqliteNotADatabase = 26;
    private const string Columns = "seq, alarm_id, type, priority, vkp_code, triage, state, sensor_id, room, raised_at, reason, attempts, last_sent_at, ack_state, ack_by, received_at, accepted_at, closed_at";
    private readonly Lock _gate = new();
    private readonly OutboxPolicy _policy;
    private readonly ILogger _log;
    private SqliteConnection _db;
    private long _maxPages;
    private bool _fullSync = true;

    public SqliteOutbox(string path)
        : this(path, new OutboxPolicy(), NullLogger.Instance)
    {
    }

    /// <summary>
    /// Opens (or creates) the store. A file that is not a database or fails SQLite's integrity check is moved aside,
    /// whatever alarms can still be read from it are copied into a new store, and <see cref="Recovery"/> says so.
    /// </summary>
    public SqliteOutbox(string path, OutboxPolicy policy, ILogger log)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(policy);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        DatabasePath = path;
        _policy = policy;
        _log = log ?? NullLogger.Instance;
        try
        {
            _db = OpenChecked(path);
        }
        catch (Exception ex) when (IsCorruption(ex))
        {
            Recovery = RecoverFromCorruption(path, ex);
            _db = OpenChecked(path);
            RestoreSalvage();
        }

        EnsureReserve();
    }

    public string DatabasePath { get; }

    /// <summary>Set when the store file was unusable at start and was replaced; the gateway raises a technical alarm.</summary>
    public OutboxRecovery? Recovery { get; private set; }

    /// <summary>Raised (loudly, also logged as critical) when the outbox had to grow past its bound or use its disk reserve.</summary>
    public event Action<string>? StorageWarning;

    private List<object?[]>? _salvage;
    private long _salvagedSequence;

    public Task<long> AddAsync(NewAlarm alarm, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            Synchronous(full: true);
            return Task.FromResult(WithSpace("store an alarm", () => Insert(alarm)));
        }
    }

    /// <summary>
    /// Group commit: stores the alarms in one transaction, one fsync for all (the rule loop hands over every alarm of a
    /// burst of inputs at once), each unless one of its type and sensor is open, counting those earlier in the list.
    /// </summary>
    public Task<IReadOnlyList<long?>> AddUnlessOpenAsync(IReadOnlyList<NewAlarm> alarms, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarms);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            Synchronous(full: true);
            return Task.FromResult(WithSpace("store an alarm", () =>
            {
                var result = new long?[alarms.Count];
                using var tx = _db.BeginTransaction();
                for (var i = 0; i < alarms.Count; i++)
                {
                    if (alarms[i].State != AlarmState.Raised || !IsOpen(alarms[i].Type, alarms[i].SensorId, tx))
                    {
                        result[i] = Insert(alarms[i], tx);
                    }
                }

                tx.Commit();
                return (IReadOnlyList<long?>)result;
            }));
        }
    }

    private long Insert(NewAlarm alarm, SqliteTransaction? tx = null)
    {
        {
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
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
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
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

    /// <summary>What the acknowledgement timers look at: alarms overdue for <c>received</c>, and for <c>accepted</c>.</summary>
    public OutboxOverdue Overdue(DateTimeOffset now, TimeSpan receivedTimeout, TimeSpan acceptedTimeout)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = $"SELECT count(*), min(raised_at) FROM alarm WHERE ack_state < {(int)AckState.Received} AND raised_at <= $cutoff;";
            cmd.Parameters.AddWithValue("$cutoff", Format(now - receivedTimeout));
            int count;
            DateTimeOffset? oldest;
            using (var reader = cmd.ExecuteReader())
            {
                reader.Read();
                count = reader.GetInt32(0);
                oldest = reader.IsDBNull(1) ? null : Parse(reader.GetString(1));
            }

            // Test alarms and alarms the resident cancelled need no operator.
            var notAccepted = Query(
                $"WHERE ack_state = {(int)AckState.Received} AND raised_at <= $cutoff AND type <> '{AlarmType.Test}' AND state <> 'cancelled' ORDER BY priority, seq LIMIT 100",
                ("$cutoff", Format(now - acceptedTimeout)));
            return new OutboxOverdue(count, oldest, notAccepted);
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
    public int MarkSent(string alarmId, DateTimeOffset at) => MarkSent([alarmId], at)[0];

    /// <summary>
    /// Records a send attempt of each alarm, in one transaction without an fsync of its own (a lost record only means
    /// a re-send); returns the attempt numbers in the same order (0 for an id the outbox does not have).
    /// </summary>
    public IReadOnlyList<int> MarkSent(IReadOnlyList<string> alarmIds, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(alarmIds);
        lock (_gate)
        {
            Synchronous(full: false);
            return WithSpace("record a send", () =>
            {
                var attempts = new int[alarmIds.Count];
                using var tx = _db.BeginTransaction();
                using var cmd = _db.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "UPDATE alarm SET attempts = attempts + 1, last_sent_at = $at WHERE alarm_id = $id RETURNING attempts;";
                var id = cmd.Parameters.Add("$id", SqliteType.Text);
                cmd.Parameters.AddWithValue("$at", Format(at));
                for (var i = 0; i < alarmIds.Count; i++)
                {
                    id.Value = alarmIds[i];
                    attempts[i] = Convert.ToInt32(cmd.ExecuteScalar() ?? 0, CultureInfo.InvariantCulture);
                }

                tx.Commit();
                return attempts;
            });
        }
    }

    /// <summary>The <c>synchronous</c> setting the store's connection has now (2 = FULL, 1 = NORMAL), for tests.</summary>
    internal long CurrentSynchronous
    {
        get
        {
            lock (_gate)
            {
                return Convert.ToInt64(Scalar("PRAGMA synchronous;"), CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>Applies an acknowledgement if it moves the alarm forward (received, then accepted, then closed).</summary>
    public AckOutcome ApplyAck(AckMessage ack)
    {
        ArgumentNullException.ThrowIfNull(ack);
        return ApplyAcks([ack])[0];
    }

    /// <summary>
    /// Applies several acknowledgements in order, in one transaction (group commit: one fsync for a burst of answers);
    /// returns each one's outcome. 'received' only stops re-sending (a lost one costs a re-send the centre drops), so a
    /// batch of only 'received' is not fsynced; 'accepted' and 'closed' end the alarm's supervision and its hold on the
    /// sensor's next alarm, so a batch with one of them must survive a power cut.
    /// </summary>
    public IReadOnlyList<AckOutcome> ApplyAcks(IReadOnlyList<AckMessage> acks)
    {
        ArgumentNullException.ThrowIfNull(acks);
        var columns = acks.Select(ack => ack.State switch
        {
            AckState.Received => "received_at",
            AckState.Accepted => "accepted_at",
            AckState.Closed => "closed_at",
            _ => throw new ArgumentOutOfRangeException(nameof(acks), ack.State, "unknown acknowledgement state"),
        }).ToArray();

        lock (_gate)
        {
            Synchronous(full: acks.Any(a => a.State != AckState.Received));
            return WithSpace("record an acknowledgement", () =>
            {
                var outcomes = new AckOutcome[acks.Count];
                using var tx = _db.BeginTransaction();
                for (var i = 0; i < acks.Count; i++)
                {
                    outcomes[i] = Apply(acks[i], columns[i], tx);
                }

                tx.Commit();
                return (IReadOnlyList<AckOutcome>)outcomes;
            });
        }
    }

    private AckOutcome Apply(AckMessage ack, string column, SqliteTransaction tx)
    {
        {
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
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
            exists.Transaction = tx;
            exists.CommandText = "SELECT 1 FROM alarm WHERE alarm_id = $id;";
            exists.Parameters.AddWithValue("$id", ack.AlarmId);
            return exists.ExecuteScalar() is null ? AckOutcome.UnknownAlarm : AckOutcome.AlreadyKnown;
        }
    }

    /// <summary>
    /// Is an alarm of this type for this sensor still open: raised (not cancelled) and not yet closed by the centre.
    /// </summary>
    public Task<bool> HasOpenAsync(string type, string? sensorId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return Task.FromResult(IsOpen(type, sensorId, null));
        }
    }

    private bool IsOpen(string type, string? sensorId, SqliteTransaction? tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"SELECT 1 FROM alarm WHERE type = $type AND sensor_id IS $sensor AND state = 'raised' AND ack_state < {(int)AckState.Closed} LIMIT 1;";
        cmd.Parameters.AddWithValue("$type", type);
        cmd.Parameters.AddWithValue("$sensor", (object?)sensorId ?? DBNull.Value);
        return cmd.ExecuteScalar() is not null;
    }

    /// <summary>Removes delivered alarms whose <c>received</c> is older than the retention; returns how many.</summary>
    public int PruneDelivered(DateTimeOffset now)
    {
        lock (_gate)
        {
            return Prune(now - _policy.DeliveredRetention);
        }
    }

    /// <summary>The store file's size in bytes (pages in use and free), for diagnostics and tests.</summary>
    public long SizeBytes
    {
        get
        {
            lock (_gate)
            {
                return Convert.ToInt64(Scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"), CultureInfo.InvariantCulture);
            }
        }
    }

    public void Dispose() => _db.Dispose();

    private int Prune(DateTimeOffset receivedBefore)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = $"DELETE FROM alarm WHERE ack_state >= {(int)AckState.Received} AND received_at < $before;";
        cmd.Parameters.AddWithValue("$before", Format(receivedBefore));
        return cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// Runs a write; when the store is full (its bound or the disk), frees space and tries again: first by removing
    /// delivered alarms, then by growing past the bound, then by giving up the disk reserve. Never drops an alarm.
    /// </summary>
    private T WithSpace<T>(string what, Func<T> write)
    {
        for (var step = 0; ; step++)
        {
            try
            {
                return write();
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteFull)
            {
                var pages = Convert.ToInt64(Scalar("PRAGMA page_count;"), CultureInfo.InvariantCulture);
                if (step == 0 && Prune(DateTimeOffset.MaxValue) is var pruned and > 0)
                {
                    _log.LogWarning("The alarm store at {Path} reached its bound of {Bytes} bytes; removed {Pruned} delivered alarms to make room", DatabasePath, _policy.MaxBytes, pruned);
                    continue;
                }

                if (pages >= _maxPages && step < 3)
                {
                    var pageSize = Convert.ToInt64(Scalar("PRAGMA page_size;"), CultureInfo.InvariantCulture);
                    _maxPages += Math.Max(16, _policy.EmergencyGrowthBytes / pageSize);
                    Execute($"PRAGMA max_page_count = {_maxPages};");
                    Warn($"The alarm store at {DatabasePath} is full of undelivered alarms ({PendingCountUnlocked()} waiting); it grows past its bound of {_policy.MaxBytes} bytes to {_maxPages * pageSize} bytes rather than drop one. The centre has not answered for a long time: check the connection.");
                    continue;
                }

                if (ReservePath is { } reserve && File.Exists(reserve))
                {
                    File.Delete(reserve);
                    Warn($"The disk holding the alarm store at {DatabasePath} is full; the {_policy.ReserveBytes}-byte reserve was released to {what}. Free space on the disk now.");
                    continue;
                }

                _log.LogCritical(ex, "Cannot {What}: the alarm store at {Path} is full and no space can be freed", what, DatabasePath);
                throw new OutboxFullException($"Cannot {what}: the alarm store at '{DatabasePath}' is full and no space can be freed ({ex.Message}).", ex);
            }
        }
    }

    private void Warn(string message)
    {
        _log.LogCritical("{Message}", message);
        StorageWarning?.Invoke(message);
    }

    private int PendingCountUnlocked() =>
        Convert.ToInt32(Scalar($"SELECT count(*) FROM alarm WHERE ack_state < {(int)AckState.Received}"), CultureInfo.InvariantCulture);

    private string? ReservePath => _policy.ReserveBytes > 0 ? DatabasePath + ".reserve" : null;

    private void EnsureReserve()
    {
        if (ReservePath is not { } reserve || (File.Exists(reserve) && new FileInfo(reserve).Length >= _policy.ReserveBytes))
        {
            return;
        }

        try
        {
            // Real bytes, not a sparse file: the point is to hold the space.
            using var file = new FileStream(reserve, FileMode.Create, FileAccess.Write);
            var block = new byte[64 * 1024];
            for (long left = _policy.ReserveBytes; left > 0; left -= block.Length)
            {
                file.Write(block, 0, (int)Math.Min(block.Length, left));
            }

            file.Flush(flushToDisk: true);
        }
        catch (IOException ex)
        {
            _log.LogWarning("Could not create the disk reserve {Path}: {Reason}", reserve, ex.Message);
            TryDelete(reserve);
        }
    }

    private SqliteConnection OpenChecked(string path)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            db.Open();
            _db = db;
            Execute("PRAGMA journal_mode=WAL;");
            Execute("PRAGMA synchronous=FULL;");
            _fullSync = true;
            var check = Convert.ToString(Scalar("PRAGMA quick_check;"), CultureInfo.InvariantCulture);
            if (check != "ok")
            {
                throw new InvalidDataException($"integrity check failed: {check}");
            }

            Migrate();
            var pageSize = Convert.ToInt64(Scalar("PRAGMA page_size;"), CultureInfo.InvariantCulture);
            var pages = Convert.ToInt64(Scalar("PRAGMA page_count;"), CultureInfo.InvariantCulture);
            _maxPages = Math.Max(pages, Math.Max(16, _policy.MaxBytes / pageSize));
            Execute($"PRAGMA max_page_count = {_maxPages};");
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    private static bool IsCorruption(Exception ex) =>
        ex is InvalidDataException || (ex is SqliteException s && s.SqliteErrorCode is SqliteCorrupt or SqliteNotADatabase);

    /// <summary>Reads what it can from the damaged file, then moves the file (and its WAL) aside.</summary>
    private OutboxRecovery RecoverFromCorruption(string path, Exception problem)
    {
        var rows = new List<object?[]>();
        try
        {
            using var old = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
            old.Open();
            try
            {
                using var seq = old.CreateCommand();
                seq.CommandText = "SELECT seq FROM sqlite_sequence WHERE name = 'alarm';";
                _salvagedSequence = Convert.ToInt64(seq.ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture);
            }
            catch (SqliteException)
            {
            }

            using var cmd = old.CreateCommand();
            // A table scan in rowid order, without the (possibly damaged) indexes; stops at the first unreadable page.
            cmd.CommandText = $"SELECT {Columns} FROM alarm NOT INDEXED ORDER BY seq;";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }

                rows.Add(row);
            }
        }
        catch (Exception ex) when (ex is SqliteException or InvalidCastException or FormatException)
        {
            _log.LogWarning("Reading alarms back from the damaged store stopped after {Rows} rows: {Reason}", rows.Count, ex.Message);
        }

        SqliteConnection.ClearAllPools();
        var movedTo = $"{path}.corrupt-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
        File.Move(path, movedTo, overwrite: true);
        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            if (File.Exists(path + suffix))
            {
                File.Move(path + suffix, movedTo + suffix, overwrite: true);
            }
        }

        _salvage = rows;
        var undelivered = rows.Count(r => Convert.ToInt32(r[13], CultureInfo.InvariantCulture) < (int)AckState.Received);
        var recovery = new OutboxRecovery(problem.Message, movedTo, rows.Count, undelivered);
        _log.LogCritical("{Recovery}", recovery.ToString());
        return recovery;
    }

    private void RestoreSalvage()
    {
        if (_salvage is null)
        {
            return;
        }

        using var tx = _db.BeginTransaction();
        foreach (var row in _salvage)
        {
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"INSERT OR IGNORE INTO alarm ({Columns}) VALUES ({string.Join(", ", Enumerable.Range(0, row.Length).Select(i => $"$p{i}"))});";
            for (var i = 0; i < row.Length; i++)
            {
                cmd.Parameters.AddWithValue($"$p{i}", row[i] ?? DBNull.Value);
            }

            cmd.ExecuteNonQuery();
        }

        // Keep numbering where the old store left off, so the centre sees no reuse of a sequence number.
        using (var seq = _db.CreateCommand())
        {
            seq.Transaction = tx;
            seq.CommandText = "UPDATE sqlite_sequence SET seq = max(seq, $s) WHERE name = 'alarm'; INSERT INTO sqlite_sequence (name, seq) SELECT 'alarm', $s WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'alarm');";
            seq.Parameters.AddWithValue("$s", _salvagedSequence);
            seq.ExecuteNonQuery();
        }

        tx.Commit();
        _salvage = null;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

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

    /// <summary>Sets the commit durability of the next writes (FULL: fsync on commit; NORMAL: fsync at the next FULL commit or checkpoint).</summary>
    private void Synchronous(bool full)
    {
        if (_fullSync != full)
        {
            Execute(full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
            _fullSync = full;
        }
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
