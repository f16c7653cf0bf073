using System.Net;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// Issue 16: two instances on one database with <c>Centre:DataProtection:KeyStore=database</c> share the key ring, so
/// a session, a form token and a sealed resident record made by one are good at the other (behind any proxy, with no
/// shared folder). With a key folder each, they are not: the test would pass for no reason otherwise.
/// </summary>
public sealed class SharedKeyRingTests : IDisposable
{
    private const string Password = "correct horse battery";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string?> Settings(string keyStore, string keys)
    {
        var settings = CentreHost.Settings(_dir.File("centre.db"), brokerPort: null);
        settings["Centre:DataProtection:KeyStore"] = keyStore;
        settings["Centre:DataProtection:KeyRingPath"] = _dir.File(keys);
        return settings;
    }

    [Fact]
    public async Task A_session_a_form_token_and_a_resident_record_of_one_instance_are_good_at_the_other()
    {
        await using var a = await CentreHost.StartAsync(Settings("database", "keys-a"));
        await using var b = await CentreHost.StartAsync(Settings("database", "keys-b"));
        await a.AddUserAsync("admin", Roles.Admin, Password);
        using var atA = new ConsoleHttpTests.Browser(a.BaseUrl);
        await atA.LoginAsync("admin", Password);
        var token = await atA.TokenAsync("/homes/gw-0042");
        Assert.Equal(HttpStatusCode.Redirect, (await atA.PostAsync("/homes/gw-0042", ("csrf", token), ("r0.name", "Kari Nordmann"), ("keySafe", "kode 4321"))).StatusCode);

        // Instance A is lost; the proxy sends the same browser (same cookies) to B.
        using var atB = new ConsoleHttpTests.Browser(b.BaseUrl);
        atB.Cookies.Add(atA.Cookies.GetAllCookies());
        using var page = await atB.Http.GetAsync("/homes/gw-0042");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Kari Nordmann", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await atB.PostAsync("/homes/gw-0042", ("csrf", token), ("r0.name", "Kari Nordmann"), ("keySafe", "kode 1234"))).StatusCode);
        Assert.NotEmpty(await a.Store.DataProtectionKeysAsync(default));
        Assert.False(Directory.Exists(_dir.File("keys-a")) && Directory.EnumerateFiles(_dir.File("keys-a")).Any());
    }

    [Fact]
    public async Task With_a_key_folder_each_the_other_instance_cannot_read_the_session()
    {
        await using var a = await CentreHost.StartAsync(Settings("folder", "keys-a"));
        await using var b = await CentreHost.StartAsync(Settings("folder", "keys-b"));
        await a.AddUserAsync("admin", Roles.Admin, Password);
        using var atA = new ConsoleHttpTests.Browser(a.BaseUrl);
        await atA.LoginAsync("admin", Password);
        Assert.Equal(HttpStatusCode.OK, (await atA.Http.GetAsync("/homes/gw-0042")).StatusCode);

        using var atB = new ConsoleHttpTests.Browser(b.BaseUrl);
        atB.Cookies.Add(atA.Cookies.GetAllCookies());
        using var refused = await atB.Http.GetAsync("/homes/gw-0042");
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.StartsWith("/login", refused.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }
}
