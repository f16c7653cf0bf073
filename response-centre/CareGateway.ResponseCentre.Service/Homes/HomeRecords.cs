using System.Security.Cryptography;
using System.Text.Json;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace CareGateway.ResponseCentre.Service.Homes;

/// <summary>
/// The one way to the homes' resident records: seals a record with the service's Data Protection keys (AES-256-CBC with
/// HMAC-SHA256, keys in the key ring of <see cref="Web.KeyRing"/>) before the store sees it, and opens it after.
/// A record whose key is gone cannot be opened: it is reported as unreadable, never shown as empty.
/// </summary>
public sealed class HomeRecords(ICentreStore store, IDataProtectionProvider protection, TimeProvider clock)
{
    /// <summary>The purpose string: a key derived for resident records only (a session cookie's key cannot open one).</summary>
    public const string Purpose = "CareGateway.ResponseCentre.HomeRecord.v1";

    private readonly IDataProtector _protector = protection.CreateProtector(Purpose);

    /// <summary>The record of one home; null when it has none.</summary>
    public async Task<HomeRecord?> GetAsync(string gatewayId, CancellationToken ct) =>
        (await GetManyAsync([gatewayId], ct)).GetValueOrDefault(gatewayId);

    /// <summary>The records of these homes, by gateway id (homes without one are left out).</summary>
    public async Task<IReadOnlyDictionary<string, HomeRecord>> GetManyAsync(IReadOnlyCollection<string> gatewayIds, CancellationToken ct)
    {
        var sealedRecords = await store.HomeRecordsAsync(gatewayIds, ct);
        return sealedRecords.ToDictionary(s => s.GatewayId, Open, StringComparer.Ordinal);
    }

    /// <summary>
    /// Like <see cref="GetManyAsync"/>, for lists: a record that cannot be opened is shown as <see cref="HomeRecord.Unreadable"/>
    /// (the queue keeps working and says so) instead of failing the page.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, HomeRecord>> ForListAsync(IReadOnlyCollection<string> gatewayIds, CancellationToken ct)
    {
        var sealedRecords = await store.HomeRecordsAsync(gatewayIds, ct);
        return sealedRecords.ToDictionary(s => s.GatewayId, s => TryOpen(s) ?? HomeRecord.Unreadable, StringComparer.Ordinal);
    }

    public Task SaveAsync(string gatewayId, HomeRecord record, string by, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(record, HomeRecordJson.Default.HomeRecord);
        return store.SaveHomeRecordAsync(new SealedHomeRecord(gatewayId, _protector.Protect(json), clock.GetUtcNow(), by), ct);
    }

    /// <summary>
    /// Removes one resident's personal data. With others still living there the record keeps them; with nobody left the
    /// whole record goes (address, key safe and contacts were theirs) and the notes of the home's closed alarms are
    /// cleared. Returns false when there was no such resident.
    /// </summary>
    public async Task<bool> DeleteResidentAsync(string gatewayId, int index, string by, CancellationToken ct)
    {
        if (await GetAsync(gatewayId, ct) is not { } record || index < 0 || index >= record.Residents.Count)
        {
            return false;
        }

        if (record.Residents.Count > 1)
        {
            var left = record.Residents.Where((_, i) => i != index).ToList();
            await SaveAsync(gatewayId, record with { Residents = left }, by, ct);
        }
        else
        {
            await store.DeleteHomeRecordAsync(gatewayId, ct);
        }

        return true;
    }

    private HomeRecord? TryOpen(SealedHomeRecord s)
    {
        try
        {
            return Open(s);
        }
        catch (HomeRecordUnreadableException)
        {
            return null;
        }
    }

    private HomeRecord Open(SealedHomeRecord s)
    {
        string json;
        try
        {
            json = _protector.Unprotect(s.Sealed);
        }
        catch (CryptographicException e)
        {
            throw new HomeRecordUnreadableException(s.GatewayId, e);
        }

        return JsonSerializer.Deserialize(json, HomeRecordJson.Default.HomeRecord) ?? new HomeRecord();
    }
}

/// <summary>A stored record whose key is not in this service's key ring (a lost or unshared key ring).</summary>
public sealed class HomeRecordUnreadableException(string gatewayId, Exception inner)
    : Exception($"The resident record of {gatewayId} cannot be opened with this service's keys (Centre:DataProtection: is the key ring the one it was written with?).", inner)
{
    public string GatewayId { get; } = gatewayId;
}
