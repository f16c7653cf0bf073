using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Migrated SQLite stores for the tests that run on both databases: one file in a temp directory.</summary>
public sealed class SqliteTestStores : IDisposable
{
    private readonly TempDir _dir = new();

    /// <summary>A store on the same file each time (a second call is the same database, reopened).</summary>
    public async Task<ICentreStore> NewAsync()
    {
        var store = SqliteCentreStore.ForFile(_dir.File("centre.db"));
        await store.MigrateAsync(default);
        return store;
    }

    /// <summary>A store on a new file with no schema yet.</summary>
    public SqlCentreStore NewUnmigrated() => SqliteCentreStore.ForFile(_dir.File($"unmigrated-{Guid.NewGuid():N}.db"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}

/// <summary>Migrated PostgreSQL stores, each on a new database of the shared server; disposed together.</summary>
public sealed class PostgresTestStores(PostgresServer server) : IAsyncDisposable
{
    private readonly List<PostgresCentreStore> _stores = [];

    public async Task<ICentreStore> NewAsync()
    {
        var store = new PostgresCentreStore(await server.CreateDatabaseAsync());
        _stores.Add(store);
        await store.MigrateAsync(default);
        return store;
    }

    /// <summary>A store on a new database with no schema yet.</summary>
    public async Task<SqlCentreStore> NewUnmigratedAsync()
    {
        var store = new PostgresCentreStore(await server.CreateDatabaseAsync());
        _stores.Add(store);
        return store;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _stores)
        {
            await s.DisposeAsync();
        }
    }
}
