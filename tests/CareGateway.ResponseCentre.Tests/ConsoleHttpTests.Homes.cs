using System.Net;
using System.Text.Json;
using CareGateway.ResponseCentre.Service.Homes;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 18: a home's resident record, read by staff (audited), written by an admin, encrypted at rest, shown in the queue.</summary>
public sealed partial class ConsoleHttpTests
{
    private static readonly (string, string)[] KariNordmann =
    [
        ("r0.name", "Kari Nordmann"), ("r0.nationalId", "01814040069"), ("r0.language", "nb"),
        ("street", "Storgata 1"), ("postalCode", "0155"), ("city", "Oslo"),
        ("keySafe", "Nøkkelboks til venstre for døra, kode 4321"),
        ("instructions", "Hører dårlig: ring lenge. Diabetes."),
        ("c0.name", "Ola Nordmann"), ("c0.kind", "relative"), ("c0.phone", "+47 900 00 001"), ("c0.note", "sønn, har nøkkel"),
        ("c1.name", "Hjemmetjenesten Sentrum"), ("c1.kind", "home-care"), ("c1.phone", "22 00 00 00"),
    ];

    private HomeRecords Homes => _centre.App.Services.GetRequiredService<HomeRecords>();

    private static async Task<HttpResponseMessage> SaveHomeAsync(Browser browser, params (string, string)[] fields) =>
        await browser.PostAsync("/homes/gw-0042", [("csrf", await browser.TokenAsync("/homes/gw-0042")), .. fields]);

    [Theory]
    [InlineData("GET", "/homes/gw-0042")]
    [InlineData("POST", "/homes/gw-0042")]
    [InlineData("POST", "/homes/gw-0042/residents/0/delete")]
    public async Task The_home_pages_answer_nobody_without_login(string method, string path)
    {
        using var browser = new Browser(_centre.BaseUrl);
        using var response = await browser.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);

        using var api = await browser.Http.GetAsync("/api/homes/gw-0042");
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Equal("application/json", api.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task An_admin_saves_a_resident_record_that_is_encrypted_at_rest_and_every_view_of_it_is_audited()
    {
        using var admin = new Browser(_centre.BaseUrl);
        await admin.LoginAsync("admin", Password);
        var saved = await SaveHomeAsync(admin, KariNordmann);
        Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
        Assert.Equal("/homes/gw-0042", saved.Headers.Location!.OriginalString);

        var record = await Homes.GetAsync("gw-0042", default);
        Assert.Equal(("Kari Nordmann", "01814040069", "Storgata 1, 0155 Oslo"), (record!.Residents[0].Name, record.Residents[0].NationalId, record.Address));
        Assert.Equal(["Ola Nordmann", "Hjemmetjenesten Sentrum"], record.Contacts.Select(c => c.Name));

        // At rest: the database file holds none of it in the clear.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var raw = await File.ReadAllBytesAsync(_dir.File("centre.db"));
        var text = System.Text.Encoding.UTF8.GetString(raw) + System.Text.Encoding.Latin1.GetString(raw);
        foreach (var secret in new[] { "Kari", "01814040069", "4321", "Storgata", "Diabetes", "900 00 001" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        using var kari = new Browser(_centre.BaseUrl);
        await kari.LoginAsync("kari", Password);
        var page = await kari.Http.GetStringAsync("/homes/gw-0042");
        Assert.Contains("Kari Nordmann", page, StringComparison.Ordinal);
        Assert.Contains("Nøkkelboks til venstre for døra, kode 4321", page, StringComparison.Ordinal);
        Assert.DoesNotContain("name=\"r0.name\"", page, StringComparison.Ordinal); // an operator reads, does not edit
        var refused = await kari.PostAsync("/homes/gw-0042", [("csrf", await kari.TokenAsync("/homes/gw-0042")), ("r0.name", "Someone Else")]);
        Assert.StartsWith("/login", new Uri(new Uri(_centre.BaseUrl), refused.Headers.Location!).PathAndQuery, StringComparison.Ordinal);
        Assert.Equal("Kari Nordmann", (await Homes.GetAsync("gw-0042", default))!.Residents[0].Name);

        var api = JsonDocument.Parse(await kari.Http.GetStringAsync("/api/homes/gw-0042")).RootElement;
        Assert.Equal("Kari Nordmann", api.GetProperty("record").GetProperty("residents")[0].GetProperty("name").GetString());
        Assert.Equal("+47 900 00 001", api.GetProperty("record").GetProperty("contacts")[0].GetProperty("phone").GetString());

        var log = await _centre.Store.AuditAsync(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), 1000, default);
        Assert.Contains(log, e => (e.Actor, e.Action, e.Target, e.Outcome) == ("kari", "GET /homes/{gateway}", "gateway=gw-0042", "ok"));
        Assert.Contains(log, e => (e.Actor, e.Action, e.Target) == ("kari", "GET /api/homes/{gateway}", "gateway=gw-0042"));
        Assert.Contains(log, e => (e.Actor, e.Action, e.Outcome) == ("admin", "POST /homes/{gateway}", "ok"));
        Assert.Contains(log, e => e.Actor == "kari" && e.Action == "POST /homes/{gateway}" && e.Outcome.StartsWith("refused", StringComparison.Ordinal));
        Assert.DoesNotContain(log, e => (e.Target ?? "").Contains("Kari", StringComparison.Ordinal)); // the audit names the home, never the person
    }

    [Fact]
    public async Task A_bad_home_form_names_every_problem_saves_nothing_and_keeps_what_was_typed()
    {
        using var admin = new Browser(_centre.BaseUrl);
        await admin.LoginAsync("admin", Password);
        var bad = await SaveHomeAsync(admin, ("r0.name", "Kari Nordmann"), ("r0.nationalId", "01814040068"), ("postalCode", "15"), ("c0.name", "Ola"), ("c0.kind", "relative"), ("c0.phone", "ring meg"), ("r1.nationalId", "01814040069"));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var html = WebUtility.HtmlDecode(await bad.Content.ReadAsStringAsync());
        Assert.Contains("Resident 1, national identity number: the check digits do not match", html, StringComparison.Ordinal);
        Assert.Contains("Postal code: '15' is not a Norwegian postal code", html, StringComparison.Ordinal);
        Assert.Contains("Contact 1, phone: 'ring meg' is not a phone number", html, StringComparison.Ordinal);
        Assert.Contains("Resident 2: a name is needed", html, StringComparison.Ordinal);
        Assert.Contains("value=\"Kari Nordmann\"", html, StringComparison.Ordinal);
        Assert.Null(await Homes.GetAsync("gw-0042", default));
    }

    [Fact]
    public async Task The_queue_shows_who_and_what_to_do_and_once_accepted_how_to_get_in_and_whom_to_call()
    {
        using var admin = new Browser(_centre.BaseUrl);
        await admin.LoginAsync("admin", Password);
        await SaveHomeAsync(admin, KariNordmann);
        using var kari = new Browser(_centre.BaseUrl);
        await kari.LoginAsync("kari", Password);

        var waiting = WebUtility.HtmlDecode(await kari.Http.GetStringAsync("/queue/rows"));
        Assert.Contains("Kari Nordmann", waiting, StringComparison.Ordinal);
        Assert.Contains("Storgata 1, 0155 Oslo", waiting, StringComparison.Ordinal);
        Assert.Contains("Hører dårlig: ring lenge.", waiting, StringComparison.Ordinal);
        Assert.DoesNotContain("4321", waiting, StringComparison.Ordinal);
        Assert.DoesNotContain("01814040069", waiting, StringComparison.Ordinal); // the queue never shows the national id

        await kari.PostAsync("/alarms/gw-0042/alarm-1/accept", ("csrf", await kari.TokenAsync("/")));
        var accepted = WebUtility.HtmlDecode(await kari.Http.GetStringAsync("/queue/rows"));
        Assert.Contains("Nøkkelboks til venstre for døra, kode 4321", accepted, StringComparison.Ordinal);
        Assert.Contains("href=\"tel:+4790000001\"", accepted, StringComparison.Ordinal);
        Assert.True(accepted.IndexOf("Ola Nordmann", StringComparison.Ordinal) < accepted.IndexOf("Hjemmetjenesten Sentrum", StringComparison.Ordinal), "contacts in their order");
        Assert.DoesNotContain("01814040069", accepted, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_the_last_resident_removes_the_record_and_the_homes_notes_and_keeps_the_alarm_for_the_figures()
    {
        using var admin = new Browser(_centre.BaseUrl);
        await admin.LoginAsync("admin", Password);
        await SaveHomeAsync(admin, [.. KariNordmann, ("r1.name", "Per Nordmann")]);
        await _centre.Store.CloseAsync(StoreContractTests.Key("alarm-1"), "operator-1", DateTimeOffset.UtcNow, "Kari hadde vondt i hofta", CloseOutcome.Handled, default);

        var first = await admin.PostAsync("/homes/gw-0042/residents/0/delete", ("csrf", await admin.TokenAsync("/homes/gw-0042")));
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        var left = await Homes.GetAsync("gw-0042", default);
        Assert.Equal(["Per Nordmann"], left!.Residents.Select(r => r.Name));
        Assert.Equal("Kari hadde vondt i hofta", (await _centre.Store.GetAlarmAsync(StoreContractTests.Key("alarm-1"), default))!.Note); // Per still lives there

        await admin.PostAsync("/homes/gw-0042/residents/0/delete", ("csrf", await admin.TokenAsync("/homes/gw-0042")));
        Assert.Null(await Homes.GetAsync("gw-0042", default));
        var alarm = await _centre.Store.GetAlarmAsync(StoreContractTests.Key("alarm-1"), default);
        Assert.Equal((HandlingStatus.Closed, (string?)null), (alarm!.Status, alarm.Note));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/homes/gw-0042/residents/0/delete", ("csrf", await admin.TokenAsync("/homes/gw-0042")))).StatusCode);
        var log = await _centre.Store.AuditAsync(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), 1000, default);
        Assert.Equal(2, log.Count(e => (e.Action, e.Outcome) == ("POST /homes/{gateway}/residents/{index}/delete", "ok")));
    }
}
