using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;

namespace CareGateway.Benchmarks;

/// <summary>
/// What the durability of the outbox costs, outside the outbox: one alarm-sized row committed in SQLite WAL mode with
/// <c>synchronous=FULL</c> (the outbox's setting: fsync of the WAL on every commit, so a raised alarm survives a power
/// cut) against <c>synchronous=NORMAL</c> (no fsync on commit; a power cut can lose the last commits, never corrupt the
/// database), and a group commit of 10 alarms in one FULL transaction (one fsync for ten). For comparison only:
/// the gateway keeps FULL, because an alarm must be on disk before it counts as raised (docs/performance.md).
/// </summary>
[MemoryDiagnoser]
public class DurabilityBenchmarks
{
    private string _dir = string.Empty;
    private SqliteConnection _db = null!;
    private long _n;

    [Params("FULL", "NORMAL")]
    public string Synchronous { get; set; } = "FULL";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("care-gateway-bench-").FullName;
        _db = new SqliteConnection($"Data Source={Path.Combine(_dir, "d.db")};Pooling=false");
        _db.Open();
        Run("PRAGMA journal_mode=WAL;");
        Run($"PRAGMA synchronous={Synchronous};");
        Run("CREATE TABLE alarm (seq INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, sensor_id TEXT, raised_at TEXT NOT NULL, reason TEXT NOT NULL);");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _db.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public void CommitOneAlarm() => Insert(1);

    [Benchmark(OperationsPerInvoke = 10)]
    public void GroupCommitTenAlarms() => Insert(10);

    private void Insert(int count)
    {
        using var tx = _db.BeginTransaction();
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO alarm (alarm_id, type, sensor_id, raised_at, reason) VALUES ($id, 'panic', 'panic-1', '2026-11-24T01:19:00Z', 'Panic button pressed');";
        var id = cmd.Parameters.Add("$id", SqliteType.Text);
        for (var i = 0; i < count; i++)
        {
            id.Value = Guid.CreateVersion7(DateTimeOffset.UnixEpoch.AddMilliseconds(++_n)).ToString();
            cmd.ExecuteNonQuery();
        }

        tx.Commit();
    }

    private void Run(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
