using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>The embedded default: one SQLite file in WAL mode with <c>synchronous=FULL</c> (a stored alarm survives power loss).</summary>
public sealed class SqliteCentreStore : SqlCentreStore
{
    private readonly string _connectionString;

    /// <summary>The store at a connection string; a file database is created private to the service (<see cref="PrivateFiles"/>).</summary>
    public SqliteCentreStore(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = true };
        if (builder.DataSource is { Length: > 0 } file && file != ":memory:" && builder.Mode != SqliteOpenMode.Memory && !file.StartsWith("file:", StringComparison.Ordinal))
        {
            PrivateFiles.PrepareDatabase(file);
        }

        _connectionString = builder.ToString();
    }

    /// <summary>The store in a file.</summary>
    public static SqliteCentreStore ForFile(string path) => new(new SqliteConnectionStringBuilder { DataSource = path }.ToString());

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
