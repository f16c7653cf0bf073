namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>The Data Protection key ring, when it is kept in the database.</summary>
public abstract partial class SqlCentreStore
{
    public Task<IReadOnlyList<string>> DataProtectionKeysAsync(CancellationToken ct) =>
        QueryAsync("SELECT xml FROM dataprotection_key ORDER BY created_at, name", r => r.GetString(0), ct);

    public async Task AddDataProtectionKeyAsync(string name, string xml, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, "INSERT INTO dataprotection_key (name, xml, created_at) VALUES (@name, @xml, @at) ON CONFLICT (name) DO NOTHING", ct,
            ("name", name), ("xml", xml), ("at", Ms(at)));
    }
}
