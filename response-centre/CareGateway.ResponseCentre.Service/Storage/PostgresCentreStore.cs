using System.Data.Common;
using Npgsql;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>PostgreSQL, for a centre with several instances sharing one database.</summary>
public sealed class PostgresCentreStore(string connectionString) : SqlCentreStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _source = NpgsqlDataSource.Create(WithAutoPrepare(connectionString));

    /// <summary>
    /// The intake sends the same few statements thousands of times a second: let Npgsql prepare them on the server
    /// (parsed and planned once per connection) unless the connection string says otherwise.
    /// </summary>
    internal static string WithAutoPrepare(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 32;
        }

        return builder.ConnectionString;
    }

    // A transaction-scoped advisory lock: two instances starting at once migrate one after the other.
    protected override string? MigrationLockSql => "SELECT pg_advisory_xact_lock(7400117)";

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken ct) => await _source.OpenConnectionAsync(ct);

    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
