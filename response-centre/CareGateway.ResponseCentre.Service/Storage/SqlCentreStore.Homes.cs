namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>The homes' resident records: stored sealed, read sealed; the store never sees them in the clear.</summary>
public abstract partial class SqlCentreStore
{
    public async Task SaveHomeRecordAsync(SealedHomeRecord record, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(record);
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, """
            INSERT INTO home_record (gateway_id, sealed, updated_at, updated_by) VALUES (@id, @sealed, @at, @by)
            ON CONFLICT (gateway_id) DO UPDATE SET sealed = @sealed, updated_at = @at, updated_by = @by
            """, ct, ("id", record.GatewayId), ("sealed", record.Sealed), ("at", Ms(record.UpdatedAt)), ("by", record.UpdatedBy));
    }

    public async Task<IReadOnlyList<SealedHomeRecord>> HomeRecordsAsync(IReadOnlyCollection<string> gatewayIds, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(gatewayIds);
        if (gatewayIds.Count == 0)
        {
            return [];
        }

        // A queue page names at most a page of homes; larger sets are read in chunks to stay within parameter limits.
        var all = new List<SealedHomeRecord>();
        foreach (var chunk in gatewayIds.Distinct(StringComparer.Ordinal).Chunk(200))
        {
            var names = string.Join(", ", chunk.Select((_, i) => $"@g{i}"));
            all.AddRange(await QueryAsync(
                $"SELECT gateway_id, sealed, updated_at, updated_by FROM home_record WHERE gateway_id IN ({names})",
                r => new SealedHomeRecord(r.GetString(0), r.GetString(1), FromMs(r.GetValue(2)), r.GetString(3)),
                ct,
                [.. chunk.Select((g, i) => ($"g{i}", (object?)g))]));
        }

        return all;
    }

    public async Task<int> DeleteHomeRecordAsync(string gatewayId, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await using var tx = await db.BeginTransactionAsync(ct);
        await ExecAsync(db, tx, "DELETE FROM home_record WHERE gateway_id = @id", ct, ("id", gatewayId));
        var notes = await ExecAsync(db, tx, "UPDATE alarm SET note = NULL WHERE gateway_id = @id AND status = @closed AND note IS NOT NULL", ct,
            ("id", gatewayId), ("closed", (int)HandlingStatus.Closed));
        await tx.CommitAsync(ct);
        return notes;
    }
}
