using CareGateway.ResponseCentre.Service.Homes;
using CareGateway.Tests;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The resident record's sealing and the national identity number check, without a service around them.</summary>
public sealed class HomeRecordsTests : IDisposable
{
    private readonly SqliteTestStores _stores = new();
    private readonly TempDir _keys = new();

    public void Dispose()
    {
        _stores.Dispose();
        _keys.Dispose();
    }

    private IDataProtectionProvider KeyRing(string name) => DataProtectionProvider.Create(new DirectoryInfo(_keys.File(name)));

    [Fact]
    public async Task A_record_sealed_with_another_key_ring_is_reported_unreadable_never_shown_empty()
    {
        var store = await _stores.NewAsync();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
        var mine = new HomeRecords(store, KeyRing("a"), clock);
        await mine.SaveAsync("gw-0042", new HomeRecord { Residents = [new() { Name = "Kari Nordmann" }], KeySafe = "kode 4321" }, "admin", default);

        Assert.Equal("Kari Nordmann", (await mine.GetAsync("gw-0042", default))!.Names);
        var sealedText = Assert.Single(await store.HomeRecordsAsync(["gw-0042"], default)).Sealed;
        Assert.DoesNotContain("Kari", sealedText, StringComparison.Ordinal);
        Assert.DoesNotContain("4321", sealedText, StringComparison.Ordinal);

        var stranger = new HomeRecords(store, KeyRing("b"), clock);
        var e = await Assert.ThrowsAsync<HomeRecordUnreadableException>(() => stranger.GetAsync("gw-0042", default));
        Assert.Contains("cannot be opened with this service's keys", e.Message, StringComparison.Ordinal);
        Assert.True((await stranger.ForListAsync(["gw-0042"], default))["gw-0042"].IsUnreadable);
    }

    [Theory]
    [InlineData("01814040069", null)]           // synthetic fødselsnummer (month + 80)
    [InlineData("41054250051", null)]           // D-nummer (first digit + 4)
    [InlineData("01814040068", "the check digits do not match (a digit is mistyped).")]
    [InlineData("0181404006", "'0181404006' is not 11 digits.")]
    [InlineData("0181404006x", "'0181404006x' is not 11 digits.")]
    public void A_national_identity_number_is_eleven_digits_with_matching_check_digits(string id, string? problem) =>
        Assert.Equal(problem, HomeForm.NationalIdProblem(id));
}
