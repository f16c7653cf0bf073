using System.Globalization;
using CareGateway.Core;
using CareGateway.Protocol;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CareGateway.Uplink;

/// <summary>An alarm in the outbox with its delivery state.</summary>
/// <param name="Repeats">How many times the call came again while the alarm was open (0: never).</param>
/// <param name="RepeatedAt">When the latest repeat happened.</param>
/// <param name="RepeatsReceived">How many of those the centre has acknowledged receiving.</param>
public sealed record OutboxAlarm(NewAlarm Alarm, long Seq, int Attempts, DateTimeOffset? LastSentAt, AckState? Ack, int Repeats = 0, DateTimeOffset? RepeatedAt = null, int RepeatsReceived = 0)
{
    /// <summary>The centre has all of it: the alarm and every repeat.</summary>
    public bool FullyReceived => Ack is not null && RepeatsReceived >= Repeats;

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
        Repeats = Repeats > 0 ? Repeats : null,
        RepeatedAt = Repeats > 0 ? RepeatedAt : null,
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
/// that fsync covers it). Sequence numbers come from AUTOINCREMENT and are never reused. docs/performance.md has the
/// figures behind this split.
/// </summary>
/// <remarks>
/// <para>
/// Writes are asynchronous for real: every write is a request to one writer thread that owns the writing connection;
/// the caller awaits its completion and no caller's thread ever waits on an fsync. The writer takes every request
/// waiting at once into one transaction (group commit across callers: the rule loop's alarms, the forwarder's send
/// records and acknowledgements share one fsync), FULL if any of them needs it. Reads are synchronous, on a second
/// connection (WAL readers never wait for the writer), and see every write whose task has completed.
/// </para>
/// <para>
/// A full disk (docs/operations.md): the first step needs no write: the reserve file is deleted, the write is tried
/// again, and the store starts <b>shedding</b> (<see cref="IsShedding"/>): send records are refused at once, so the
/// space left goes to alarms and the centre's answers (the rules' state is shed by its own store). Pruning delivered
/// alarms comes after that. <see cref="TryRestoreReserveAsync"/> takes the reserve back once space has returned.
/// </para>
/// </remarks>
public sealed class SqliteOutbox : IAlarmOutbox, IDisposable
{
    private const int SchemaVersion = 2;

    /// <summary>Not yet all at the centre: the alarm itself, or a repeat of it, still waits for <c>received</c>.</summary>
    private const string Unreceived = "(ack_state < 1 OR repeats > repeats_received)";
    private const int SqliteCorrupt = 11;
    private const int SqliteFull = 13;
    private const int SqliteNotADatabase = 26;
    private const string Columns = "seq, alarm_id, type, priority, vkp_code, triage, state, sensor_id, room, raised_at, reason, attempts, last_sent_at, ack_state, ack_by, received_at, accepted_at, closed_at";
    private readonly Lock _gate = new();
    private readonly Lock _reserveGate = new();
    private readonly OutboxPolicy _policy;
    private readonly ILogger _log;
    private readonly System.Collections.Concurrent.BlockingCollection<WriteOp> _writes = new();
    private readonly Thread _writer;
    private readonly SqliteConnection _read;
    private SqliteConnection _db;
    private long _maxPages;
    private bool _fullSync = true;
    private volatile bool _shedding;
    private int _disposed;

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

        if (!EnsureReserve(out var reserveProblem))
        {
            StartupProblem = reserveProblem;
            _log.LogError("{Problem}", reserveProblem);
        }

        _read = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _read.Open();
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "outbox writer" };
        _writer.Start();
    }

    public string DatabasePath { get; }

    /// <summary>
    /// What was wrong at start without stopping the store: the disk reserve could not be made (too little space). The
    /// gateway logs it as an error, <c>selftest</c> fails on it, and the forwarder raises a <c>gateway-fault</c> alarm.
    /// </summary>
    public string? StartupProblem { get; }

    /// <summary>The disk was full and the reserve was given up: send records are refused until space returns.</summary>
    public bool IsShedding => _shedding;

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
        return Write("store an alarm", full: true, sheddable: false, tx => Insert(alarm, tx));
    }

    /// <summary>
    /// Group commit: stores the alarms in one transaction, one fsync for all (the rule loop hands over every alarm of a
    /// burst of inputs at once), each unless one of its type and sensor is open, counting those earlier in the list.
    /// </summary>
    public Task<IReadOnlyList<AddOutcome>> AddUnlessOpenAsync(IReadOnlyList<NewAlarm> alarms, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarms);
        cancellationToken.ThrowIfCancellationRequested();
        return Write<IReadOnlyList<AddOutcome>>("store an alarm", full: true, sheddable: false, tx =>
        {
            var result = new AddOutcome[alarms.Count];
            for (var i = 0; i < alarms.Count; i++)
            {
                var a = alarms[i];
                if (a.State != AlarmState.Raised || !IsOpen(_db, a.Type, a.SensorId, tx))
                {
                    result[i] = AddOutcome.Added(Insert(a, tx));
                }
                else if (AlarmCatalog.Repeats(a.Type) && Repeat(a.Type, a.SensorId, a.RaisedAt, tx) is { } repeat)
                {
                    result[i] = AddOutcome.Repeated(repeat);
                }
            }

            return result;
        });
    }

    /// <summary>
    /// One more repeat of the open alarm of this type and sensor, fsynced like a new alarm (it is the resident calling
    /// again), and due for sending at once; null when none is open.
    /// </summary>
    public Task<AlarmRepeat?> RepeatAsync(string type, string? sensorId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Write("store a repeat", full: true, sheddable: false, tx => Repeat(type, sensorId, at, tx));
    }

    private AlarmRepeat? Repeat(string type, string? sensorId, DateTimeOffset at, SqliteTransaction tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        // The newest open one, should there ever be two; last_sent_at cleared so that the forwarder sends it now.
        cmd.CommandText = $"""
            UPDATE alarm SET repeats = repeats + 1, repeated_at = $at, last_sent_at = NULL
            WHERE seq = (SELECT max(seq) FROM alarm WHERE type = $type AND sensor_id IS $sensor AND state = 'raised' AND ack_state < {(int)AckState.Closed})
            RETURNING alarm_id, repeats;
            """;
        cmd.Parameters.AddWithValue("$type", type);
        cmd.Parameters.AddWithValue("$sensor", (object?)sensorId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$at", Format(at));
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? new AlarmRepeat(reader.GetString(0), reader.GetInt32(1)) : null;
    }

    private long Insert(NewAlarm alarm, SqliteTransaction tx)
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
            return Query($"WHERE {Unreceived} ORDER BY priority, seq LIMIT {max}");
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
                $"WHERE {Unreceived} AND (last_sent_at IS NULL OR last_sent_at <= $cutoff OR last_sent_at < $since) ORDER BY priority, seq LIMIT {max}",
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
                return ReadScalar($"SELECT min(last_sent_at) FROM alarm WHERE {Unreceived} AND last_sent_at IS NOT NULL") is string s ? Parse(s) : null;
            }
        }
    }

    /// <summary>What the acknowledgement timers look at: alarms overdue for <c>received</c>, and for <c>accepted</c>.</summary>
    public OutboxOverdue Overdue(DateTimeOffset now, TimeSpan receivedTimeout, TimeSpan acceptedTimeout)
    {
        lock (_gate)
        {
            using var cmd = _read.CreateCommand();
            // A repeat is overdue from the time of the repeat, not of the alarm it repeats.
            cmd.CommandText = $"SELECT count(*), min(coalesce(repeated_at, raised_at)) FROM alarm WHERE {Unreceived} AND coalesce(repeated_at, raised_at) <= $cutoff;";
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
            var outstanding = count > 0 || notAccepted.Count > 0 || ReadScalar(
                $"SELECT EXISTS (SELECT 1 FROM alarm WHERE {Unreceived} OR (ack_state = {(int)AckState.Received} AND type <> '{AlarmType.Test}' AND state <> 'cancelled'))") is long and not 0;
            return new OutboxOverdue(count, oldest, notAccepted) { Outstanding = outstanding };
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
                return Convert.ToInt32(ReadScalar($"SELECT count(*) FROM alarm WHERE {Unreceived}"), CultureInfo.InvariantCulture);
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
                return Convert.ToInt64(ReadScalar("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'alarm'), 0)"), CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>Records one send attempt; returns the attempt number (for tools and tests; blocks until written).</summary>
    public int MarkSent(string alarmId, DateTimeOffset at) => MarkSent([alarmId], at)[0];

    /// <inheritdoc cref="MarkSentAsync"/>
    public IReadOnlyList<int> MarkSent(IReadOnlyList<string> alarmIds, DateTimeOffset at) => MarkSentAsync(alarmIds, at, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Records a send attempt of each alarm, without an fsync of its own (a lost record only means a re-send); returns
    /// the attempt numbers in the same order (0 for an id the outbox does not have). Refused at once with
    /// <see cref="OutboxFullException"/> while the disk is full (<see cref="IsShedding"/>).
    /// </summary>
    public Task<IReadOnlyList<int>> MarkSentAsync(IReadOnlyList<string> alarmIds, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarmIds);
        cancellationToken.ThrowIfCancellationRequested();
        return Write<IReadOnlyList<int>>("record a send", full: false, sheddable: true, tx =>
        {
            var attempts = new int[alarmIds.Count];
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

            return attempts;
        });
    }

    /// <summary>The <c>synchronous</c> setting the store's connection has now (2 = FULL, 1 = NORMAL), for tests.</summary>
    internal long CurrentSynchronous =>
        Write("read a setting", full: _fullSync, sheddable: false, _ => Convert.ToInt64(Scalar("PRAGMA synchronous;"), CultureInfo.InvariantCulture)).GetAwaiter().GetResult();

    /// <summary>Applies an acknowledgement if it moves the alarm forward (received, then accepted, then closed); blocks until written.</summary>
    public AckOutcome ApplyAck(AckMessage ack)
    {
        ArgumentNullException.ThrowIfNull(ack);
        return ApplyAcks([ack])[0];
    }

    /// <inheritdoc cref="ApplyAcksAsync"/>
    public IReadOnlyList<AckOutcome> ApplyAcks(IReadOnlyList<AckMessage> acks) => ApplyAcksAsync(acks, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Applies several acknowledgements in order, in one transaction (group commit: one fsync for a burst of answers);
    /// returns each one's outcome. 'received' only stops re-sending (a lost one costs a re-send the centre drops), so a
    /// batch of only 'received' is not fsynced; 'accepted' and 'closed' end the alarm's supervision and its hold on the
    /// sensor's next alarm, so a batch with one of them must survive a power cut.
    /// </summary>
    public Task<IReadOnlyList<AckOutcome>> ApplyAcksAsync(IReadOnlyList<AckMessage> acks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(acks);
        cancellationToken.ThrowIfCancellationRequested();
        var columns = acks.Select(ack => ack.State switch
        {
            AckState.Received => "received_at",
            AckState.Accepted => "accepted_at",
            AckState.Closed => "closed_at",
            _ => throw new ArgumentOutOfRangeException(nameof(acks), ack.State, "unknown acknowledgement state"),
        }).ToArray();

        return Write<IReadOnlyList<AckOutcome>>("record an acknowledgement", full: acks.Any(a => a.State != AckState.Received), sheddable: false, tx =>
        {
            var outcomes = new AckOutcome[acks.Count];
            for (var i = 0; i < acks.Count; i++)
            {
                outcomes[i] = Apply(acks[i], columns[i], tx);
            }

            return outcomes;
        });
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
            var moved = cmd.ExecuteNonQuery() == 1;

            // The repeats the centre has: once it has them all, the alarm is not sent again.
            var repeatsMoved = false;
            if (ack.Repeats is > 0 and var repeats)
            {
                using var r = _db.CreateCommand();
                r.Transaction = tx;
                r.CommandText = "UPDATE alarm SET repeats_received = min($repeats, repeats) WHERE alarm_id = $id AND repeats_received < min($repeats, repeats);";
                r.Parameters.AddWithValue("$repeats", repeats);
                r.Parameters.AddWithValue("$id", ack.AlarmId);
                repeatsMoved = r.ExecuteNonQuery() == 1;
            }

            if (moved || repeatsMoved)
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
            return Task.FromResult(IsOpen(_read, type, sensorId, null));
        }
    }

    private static bool IsOpen(SqliteConnection db, string type, string? sensorId, SqliteTransaction? tx)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"SELECT 1 FROM alarm WHERE type = $type AND sensor_id IS $sensor AND state = 'raised' AND ack_state < {(int)AckState.Closed} LIMIT 1;";
        cmd.Parameters.AddWithValue("$type", type);
        cmd.Parameters.AddWithValue("$sensor", (object?)sensorId ?? DBNull.Value);
        return cmd.ExecuteScalar() is not null;
    }

    /// <summary>Removes delivered alarms whose <c>received</c> is older than the retention; returns how many (blocks until written).</summary>
    public int PruneDelivered(DateTimeOffset now) => PruneDeliveredAsync(now, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Removes delivered alarms whose <c>received</c> is older than the retention; returns how many.</summary>
    public Task<int> PruneDeliveredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Write("prune delivered alarms", full: false, sheddable: false, tx => Prune(now - _policy.DeliveredRetention, tx));
    }

    /// <summary>
    /// While shedding: when the disk has room for the reserve (and as much again) once more, makes the reserve again
    /// and ends shedding. True when it did.
    /// </summary>
    public Task<bool> TryRestoreReserveAsync(CancellationToken cancellationToken) => Task.Run(
        () =>
        {
            lock (_reserveGate)
            {
                if (!_shedding)
                {
                    return false;
                }

                var free = FreeBytes();
                if (free is { } bytes && bytes < 2 * _policy.ReserveBytes)
                {
                    return false;
                }

                if (!EnsureReserve(out _))
                {
                    return false;
                }

                _shedding = false;
                _log.LogWarning("The disk holding the alarm store at {Path} has space again: the reserve is back and send records are written again", DatabasePath);
                return true;
            }
        },
        cancellationToken);

    /// <summary>The store file's size in bytes (pages in use and free), for diagnostics and tests.</summary>
    public long SizeBytes
    {
        get
        {
            lock (_gate)
            {
                return Convert.ToInt64(ReadScalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"), CultureInfo.InvariantCulture);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _writes.CompleteAdding();
        _writer.Join();
        _writes.Dispose();
        _read.Dispose();
        _db.Dispose();
    }

    private int Prune(DateTimeOffset receivedBefore, SqliteTransaction? tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"DELETE FROM alarm WHERE ack_state >= {(int)AckState.Received} AND repeats <= repeats_received AND received_at < $before;";
        cmd.Parameters.AddWithValue("$before", Format(receivedBefore));
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Queues a write for the writer thread; the task completes once it is committed (or failed).</summary>
    private Task<T> Write<T>(string what, bool full, bool sheddable, Func<SqliteTransaction, T> run)
    {
        var op = new WriteOp<T>(what, full, sheddable, run);
        try
        {
            _writes.Add(op);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(SqliteOutbox));
        }

        return op.Task;
    }

    /// <summary>The writer thread: asleep until a write comes, then every write waiting in one transaction.</summary>
    private void WriterLoop()
    {
        var batch = new List<WriteOp>();
        foreach (var first in _writes.GetConsumingEnumerable())
        {
            batch.Clear();
            batch.Add(first);
            while (batch.Count < 256 && _writes.TryTake(out var more))
            {
                batch.Add(more);
            }

            if (_shedding)
            {
                foreach (var op in batch.Where(o => o.Sheddable))
                {
                    op.Fail(new OutboxFullException($"Not done while the disk is full: {op.What} (shed so that alarms keep the space left).", null));
                }

                batch.RemoveAll(o => o.Sheddable);
                if (batch.Count == 0)
                {
                    continue;
                }
            }

            try
            {
                WithSpace(batch[0].What, batch.Any(o => o.Sheddable), () =>
                {
                    Synchronous(batch.Any(o => o.Full));
                    using var tx = _db.BeginTransaction();
                    foreach (var op in batch)
                    {
                        op.Run(tx);
                    }

                    tx.Commit();
                });

                foreach (var op in batch)
                {
                    op.Complete();
                }
            }
#pragma warning disable CA1031 // every failure goes back to the callers of the batch
            catch (Exception ex)
#pragma warning restore CA1031
            {
                foreach (var op in batch)
                {
                    op.Fail(ex);
                }
            }
        }
    }

    /// <summary>
    /// Runs a write; when the store is full, frees space and tries again. The store's own bound reached: remove
    /// delivered alarms, then grow past the bound. The disk itself full: first give up the reserve (a delete, no write:
    /// on a full disk every SQLite write fails, even a delete), then remove delivered alarms. Never drops an alarm.
    /// </summary>
    private void WithSpace(string what, bool sheddable, Action write)
    {
        var pruned = false;
        for (var step = 0; ; step++)
        {
            try
            {
                write();
                return;
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteFull)
            {
                var pages = Convert.ToInt64(Scalar("PRAGMA page_count;"), CultureInfo.InvariantCulture);
                if (pages >= _maxPages)
                {
                    if (!pruned)
                    {
                        pruned = true;
                        if (TryPrune() is var removed and > 0)
                        {
                            _log.LogWarning("The alarm store at {Path} reached its bound of {Bytes} bytes; removed {Pruned} delivered alarms to make room", DatabasePath, _policy.MaxBytes, removed);
                            continue;
                        }
                    }

                    if (step < 4)
                    {
                        var pageSize = Convert.ToInt64(Scalar("PRAGMA page_size;"), CultureInfo.InvariantCulture);
                        _maxPages += Math.Max(16, _policy.EmergencyGrowthBytes / pageSize);
                        Execute($"PRAGMA max_page_count = {_maxPages};");
                        Warn($"The alarm store at {DatabasePath} is full of undelivered alarms ({PendingCountUnlocked()} waiting); it grows past its bound of {_policy.MaxBytes} bytes to {_maxPages * pageSize} bytes rather than drop one. The centre has not answered for a long time: check the connection.");
                        continue;
                    }
                }

                if (ReleaseReserve())
                {
                    Warn($"the disk holding the alarm store is full; the {_policy.ReserveBytes}-byte reserve was released to {what}, and writes other than alarms are shed until there is space again. Free space on the disk now.");
                    continue;
                }

                if (!pruned && !sheddable)
                {
                    pruned = true;
                    if (TryPrune() > 0)
                    {
                        continue;
                    }
                }

                throw new OutboxFullException($"Cannot {what}: the alarm store at '{DatabasePath}' is full and no space can be freed ({ex.Message}).", ex);
            }
        }
    }

    /// <summary>Removes every delivered alarm (a write: on a full disk it fails too, which is no worse).</summary>
    private int TryPrune()
    {
        try
        {
            Synchronous(true);
            using var tx = _db.BeginTransaction();
            var n = Prune(DateTimeOffset.MaxValue, tx);
            tx.Commit();
            return n;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteFull)
        {
            return 0;
        }
    }

    /// <summary>Deletes the reserve file (no write needed) and starts shedding; false when there is none.</summary>
    private bool ReleaseReserve()
    {
        lock (_reserveGate)
        {
            if (ReservePath is not { } reserve || !File.Exists(reserve))
            {
                return false;
            }

            File.Delete(reserve);
            _shedding = true;
            return true;
        }
    }

    private long? FreeBytes()
    {
        try
        {
            return new DriveInfo(Path.GetDirectoryName(Path.GetFullPath(DatabasePath))!).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void Warn(string message)
    {
        _log.LogCritical("{Message}", message);
        StorageWarning?.Invoke(message);
    }

    private int PendingCountUnlocked() =>
        Convert.ToInt32(Scalar($"SELECT count(*) FROM alarm WHERE {Unreceived}"), CultureInfo.InvariantCulture);

    private string? ReservePath => _policy.ReserveBytes > 0 ? DatabasePath + ".reserve" : null;

    /// <summary>Makes the reserve file if it is missing or short; false (with the problem in plain words) when the disk has no room for it.</summary>
    private bool EnsureReserve(out string problem)
    {
        problem = string.Empty;
        if (ReservePath is not { } reserve || (File.Exists(reserve) && new FileInfo(reserve).Length >= _policy.ReserveBytes))
        {
            return true;
        }

        try
        {
            // Real bytes, not a sparse file: the point is to hold the space.
            using (var file = new FileStream(reserve, FileMode.Create, FileAccess.Write))
            {
                var block = new byte[64 * 1024];
                for (long left = _policy.ReserveBytes; left > 0; left -= block.Length)
                {
                    file.Write(block, 0, (int)Math.Min(block.Length, left));
                }

                file.Flush(flushToDisk: true);
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(reserve);
            var free = FreeBytes() is { } bytes ? $"{bytes / 1024} KiB free" : "free space unknown";
            problem = $"the {_policy.ReserveBytes / 1024} KiB disk reserve beside the alarm store cannot be made ({free}: {ex.Message}); a full disk would find no room for the next alarm.";
            return false;
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
            version = 1;
        }

        if (version < 2)
        {
            // Repeats (issue 13): a press, fall, smoke or water event while its alarm is open.
            using var tx = _db.BeginTransaction();
            Execute("""
                ALTER TABLE alarm ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE alarm ADD COLUMN repeated_at TEXT;
                ALTER TABLE alarm ADD COLUMN repeats_received INTEGER NOT NULL DEFAULT 0;
                PRAGMA user_version = 2;
                """, tx);
            tx.Commit();
        }
    }

    /// <summary>A read on the reading connection (hold <c>_gate</c>).</summary>
    private List<OutboxAlarm> Query(string where, params (string Name, object Value)[] parameters)
    {
        using var cmd = _read.CreateCommand();
        cmd.CommandText = $"""
            SELECT alarm_id, type, priority, vkp_code, triage, state, sensor_id, room, raised_at, reason,
                   seq, attempts, last_sent_at, ack_state, repeats, repeated_at, repeats_received
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
                ack == 0 ? null : (AckState)ack,
                reader.GetInt32(14),
                reader.IsDBNull(15) ? null : Parse(reader.GetString(15)),
                reader.GetInt32(16)));
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

    /// <summary>A read on the reading connection (hold <c>_gate</c>).</summary>
    private object? ReadScalar(string sql)
    {
        using var cmd = _read.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    /// <summary>On the writing connection: the writer thread, or the constructor before it starts.</summary>
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

    private abstract class WriteOp(string what, bool full, bool sheddable)
    {
        public string What { get; } = what;

        /// <summary>Needs an fsync on commit (<c>synchronous=FULL</c>).</summary>
        public bool Full { get; } = full;

        /// <summary>Refused while the disk is full, so that alarms get the space left.</summary>
        public bool Sheddable { get; } = sheddable;

        public abstract void Run(SqliteTransaction tx);

        public abstract void Complete();

        public abstract void Fail(Exception ex);
    }

    private sealed class WriteOp<T>(string what, bool full, bool sheddable, Func<SqliteTransaction, T> run) : WriteOp(what, full, sheddable)
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;

        public Task<T> Task => _done.Task;

        public override void Run(SqliteTransaction tx) => _result = run(tx);

        public override void Complete() => _done.TrySetResult(_result!);

        public override void Fail(Exception ex) => _done.TrySetException(ex);
    }
}
