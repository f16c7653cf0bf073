using CareGateway.LoadTest;
using Npgsql;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// A real PostgreSQL server (Debian's package) for the tests, shared by a collection: the benchmark's
/// <see cref="ThrowawayPostgres"/> with fsync off for speed. Each test gets its own database from
/// <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private ThrowawayPostgres? _server;

    private ThrowawayPostgres Server => _server ?? throw new InvalidOperationException("the PostgreSQL server is not started");

    public int Port => Server.Port;

    public string ConnectionString(string database) => Server.ConnectionString(database);

    public async Task InitializeAsync()
    {
        var bin = ThrowawayPostgres.FindBin()
            ?? throw new InvalidOperationException("PostgreSQL is not installed: run ./test.sh, which installs it (apt-get install postgresql).");
        _server = await ThrowawayPostgres.StartAsync(bin, durable: false, database: null);
    }

    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..16];
        await using var db = new NpgsqlConnection(ConnectionString("postgres"));
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
#pragma warning disable CA2100 // the name is generated here from hex digits
        cmd.CommandText = $"CREATE DATABASE {name}";
#pragma warning restore CA2100
        await cmd.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresGroup : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL server";
}
