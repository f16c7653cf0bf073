using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>The embedded default: one SQLite file in WAL mode with <c>synchronous=FULL</c> (a stored alarm survives power loss).</summary>
public sealed class SqliteCentreStore(string connectionString) : SqlCentreStore
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder(connectionString) { Pooling = true }.ToString();

    /// <summary>The store in a file.</summary>
    public static SqliteCentreStore ForFile(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return new SqliteCentreStore(new SqliteConnectionStringBuilder { DataSource = path }.ToString());
    }

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken ct)
    {
        var db = new SqliteConnection(_connectionString);
        await db.OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;";
        await cmd.ExecuteNonQueryAsync(ct);
        return db;
    }
}
