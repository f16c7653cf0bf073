using CareGateway.Core.Commands;
using CareGateway.Protocol;
using Microsoft.Data.Sqlite;

namespace CareGateway.Uplink;

/// <summary>
/// The command journal on disk (its own SQLite file beside the outbox), so that a command redelivered after a restart
/// (the broker keeps QoS 1 messages for a persistent session) is answered again rather than run again. Keeps the
/// newest <see cref="Keep"/> results.
/// </summary>
public sealed class SqliteCommandJournal : ICommandJournal, IDisposable
{
    private readonly Lock _gate = new();
    private readonly SqliteConnection _db;

    public SqliteCommandJournal(string path, int keep = 1000)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Keep = keep;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
        Execute("CREATE TABLE IF NOT EXISTS command_result (n INTEGER PRIMARY KEY AUTOINCREMENT, command_id TEXT NOT NULL UNIQUE, result BLOB NOT NULL);");
    }

    public int Keep { get; }

    public CommandResultMessage? Find(string commandId)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT result FROM command_result WHERE command_id = $id;";
            cmd.Parameters.AddWithValue("$id", commandId);
            return cmd.ExecuteScalar() is byte[] json && CommandJson.TryParseResult(json, out var result, out _) ? result : null;
        }
    }

    public void Record(CommandResultMessage result)
    {
        ArgumentNullException.ThrowIfNull(result);
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = """
                INSERT INTO command_result (command_id, result) VALUES ($id, $result) ON CONFLICT(command_id) DO NOTHING;
                DELETE FROM command_result WHERE n <= (SELECT max(n) FROM command_result) - $keep;
                """;
            cmd.Parameters.AddWithValue("$id", result.CommandId);
            cmd.Parameters.AddWithValue("$result", CommandJson.Serialize(result));
            cmd.Parameters.AddWithValue("$keep", Keep);
            cmd.ExecuteNonQuery();
        }
    }

    public void Dispose() => _db.Dispose();

    private void Execute(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
