using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;
using Microsoft.Playwright;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// Issue 18 end to end in headless Chromium: the operator accepts an alarm, logs a call and dispatches a team; the team's
/// phone (390x844) opens the link and marks on my way, arrived and done; the operator's alarm page shows each step
/// without a reload; the operator closes, and the record export's Encounter carries the handling.
/// </summary>
public sealed class HandlingBrowserTests
{
    private const string Password = "correct horse battery";

    [Fact]
    public async Task Handling_and_dispatch_from_accept_to_close_with_the_teams_phone_page_and_the_encounter_in_the_export()
    {
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), brokerPort: null));
        await centre.AddUserAsync("kari", Roles.Operator, Password);
        await centre.Store.EnsureGatewayAsync("gw-web-9", 0, default);
        await centre.Store.SetGatewayLabelAsync("gw-web-9", "Kunde 1042", "Bydel Nord", default);
        var now = DateTimeOffset.UtcNow;
        var id = Guid.CreateVersion7().ToString();
        await centre.Store.AddAlarmAsync(StoreContractTests.Alarm(id, gateway: "gw-web-9", type: AlarmType.Fall, raised: now.AddSeconds(-5)) with { Room = "bathroom", Reason = "fall detected by the bathroom's fall sensor" }, default);
        await centre.App.Services.GetRequiredService<CareGateway.ResponseCentre.Service.Homes.HomeRecords>().SaveAsync("gw-web-9", new()
        {
            Residents = [new() { Name = "Kari Nordmann", NationalId = "01814040069", Language = "nb" }],
            Street = "Storgata 1", PostalCode = "0155", City = "Oslo",
            KeySafe = "Nøkkelboks til venstre for døra, kode 4321",
            Instructions = "Hører dårlig: ring lenge.",
            Contacts = [new() { Name = "Ola Nordmann", Kind = "relative", Phone = "+47 900 00 001" }],
        }, "admin", default);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await BrowserTests.LaunchAsync(playwright);
        var console = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        console.SetDefaultTimeout(30_000);
        await console.GotoAsync(centre.BaseUrl + "/login");
        await console.FillAsync("input[name=username]", "kari");
        await console.FillAsync("input[name=password]", Password);
        await console.ClickAsync("button[type=submit]");
        await console.WaitForSelectorAsync("#live:has-text('Direkte')");

        // The alarm arrives with who lives there and what to do; how to get in shows once an operator has it.
        var row = console.Locator($"tr[data-alarm-id='{id}']");
        Assert.Contains("Kari Nordmann", await row.Locator("td.home").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Hører dårlig: ring lenge.", await row.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await row.Locator(".key-safe").CountAsync());
        await row.Locator("button.accept").ClickAsync();
        await console.Locator($"tr[data-alarm-id='{id}'] button.close").WaitForAsync();
        Assert.Contains("kode 4321", await console.Locator($"tr[data-alarm-id='{id}'] .key-safe").InnerTextAsync(), StringComparison.Ordinal);
        await console.Locator($"tr[data-alarm-id='{id}'] a.open-alarm").ClickAsync();
        await console.Locator("#alarm-live[data-live='open']").WaitForAsync(); // its event stream is open
        var detail = await console.Locator(".alarm-detail").InnerTextAsync();
        Assert.Contains("Kunde 1042", detail, StringComparison.Ordinal);
        Assert.Contains("Kari Nordmann", detail, StringComparison.Ordinal);
        Assert.Contains("kode 4321", detail, StringComparison.Ordinal);

        // A call, then a dispatch: the link for the team is shown once.
        await console.FillAsync(".call-form input[name=toWhom]", "datter");
        await console.SelectOptionAsync(".call-form select[name=outcome]", CallOutcome.Reached);
        await console.FillAsync(".call-form input[name=text]", "Datter har ikke nøkkel");
        await console.ClickAsync(".call-form button");
        await console.Locator("#handling li[data-kind='call']:has-text('Ringte datter – nådd')").WaitForAsync();
        await console.FillAsync(".dispatch-form input[name=team]", "Hjemmetjenesten Nord");
        await console.ClickAsync(".dispatch-form button");
        var link = await console.Locator("#dispatch-link").InputValueAsync();
        Assert.StartsWith(centre.BaseUrl + "/d/", link, StringComparison.Ordinal);
        await console.Locator("#handling li[data-kind='dispatch']:has-text('Hjemmetjenesten Nord')").WaitForAsync();
        await console.Locator("#alarm-live[data-live='open']").WaitForAsync();
        await console.EvaluateAsync("window.__noReload = true");

        // The team's phone: its own context (no console cookie), a phone's viewport.
        await using var phoneContext = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            IsMobile = true,
            HasTouch = true,
            DeviceScaleFactor = 3,
        });
        var phone = await phoneContext.NewPageAsync();
        phone.SetDefaultTimeout(30_000);
        await phone.GotoAsync(link);
        Assert.Equal("nb", await phone.GetAttributeAsync("html", "lang"));
        Assert.Contains("Kunde 1042", await phone.Locator(".task").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Bad", await phone.Locator(".task .room").InnerTextAsync(), StringComparison.Ordinal);
        var resident = await phone.Locator("#resident-details").InnerTextAsync();
        Assert.Contains("Kari Nordmann", resident, StringComparison.Ordinal);
        Assert.Contains("Storgata 1, 0155 Oslo", resident, StringComparison.Ordinal);
        Assert.Contains("Nøkkelboks til venstre for døra, kode 4321", resident, StringComparison.Ordinal);
        Assert.DoesNotContain("01814040069", await phone.Locator("body").InnerTextAsync(), StringComparison.Ordinal); // no national id on the team's phone
        Assert.DoesNotContain("Ola Nordmann", await phone.Locator("body").InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("Datter har ikke", await phone.Locator("body").InnerTextAsync(), StringComparison.Ordinal); // the operator's call text is not here
        Assert.True(await phone.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the team's page is wider than the phone");
        var first = await phone.Locator("button[data-step='on-the-way']").BoundingBoxAsync();
        Assert.True(first is { Height: >= 44 } && first.Width >= 300, $"the step button is {first?.Width}x{first?.Height}, not a large touch target");

        foreach (var (step, word) in new[] { (HandlingKind.OnTheWay, "På vei"), (HandlingKind.Arrived, "Ankommet"), (HandlingKind.Done, "Ferdig") })
        {
            await phone.Locator($"button[data-step='{step}']").TapAsync();
            await phone.Locator($"ol.steps li[data-kind='{step}']").WaitForAsync();
            // The operator's page shows it without a reload.
            await console.Locator($"#handling li[data-kind='{step}']:has-text('{word}')").WaitForAsync();
        }

        await phone.Locator(".finished").WaitForAsync();
        Assert.True(await console.EvaluateAsync<bool>("window.__noReload === true"));
        if (Environment.GetEnvironmentVariable("CENTRE_SCREENSHOT") is { Length: > 0 } shot)
        {
            await console.ScreenshotAsync(new PageScreenshotOptions { Path = shot.Replace(".png", "-alarm.png", StringComparison.Ordinal), FullPage = true });
            await phone.ScreenshotAsync(new PageScreenshotOptions { Path = shot.Replace(".png", "-team.png", StringComparison.Ordinal), FullPage = true });
        }

        // The operator closes; the team's link ends.
        await console.FillAsync(".handling-forms .close-form input[name=note]", "Beboer hjulpet opp av hjemmetjenesten.");
        await console.ClickAsync(".handling-forms .close-form button.close");
        await console.WaitForURLAsync(centre.BaseUrl + "/");
        await phone.ReloadAsync();
        await phone.Locator(".gone").WaitForAsync();

        // The record export: the Encounter from accept to close, with the handling.
        var zone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo");
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        var export = await console.Context.APIRequest.GetAsync($"{centre.BaseUrl}/export/fhir?from={today.AddDays(-1):yyyy-MM-dd}&to={today.AddDays(1):yyyy-MM-dd}");
        Assert.Equal(200, export.Status);
        var bundle = JsonDocument.Parse(await export.TextAsync()).RootElement;
        var encounter = bundle.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource")).Single(r => r.GetProperty("resourceType").GetString() == "Encounter");
        Assert.Equal("finished", encounter.GetProperty("status").GetString());
        var div = encounter.GetProperty("text").GetProperty("div").GetString()!;
        foreach (var expected in new[] { "Ringte datter – nådd: «Datter har ikke nøkkel»", "Sendte Hjemmetjenesten Nord", "På vei (Hjemmetjenesten Nord)", "Ankommet (tilstede) (Hjemmetjenesten Nord)", "Ferdig (Hjemmetjenesten Nord)" })
        {
            Assert.Contains(expected, div, StringComparison.Ordinal);
        }

        var patient = bundle.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource")).Single(r => r.GetProperty("resourceType").GetString() == "Patient");
        Assert.Equal("01814040069", patient.GetProperty("identifier")[0].GetProperty("value").GetString()); // the patient is the resident
                var stored = (await centre.Store.GetAlarmAsync(new AlarmKey("gw-web-9", id), default))!;
        Assert.Equal(DateTimeOffset.Parse(encounter.GetProperty("period").GetProperty("start").GetString()!, System.Globalization.CultureInfo.InvariantCulture), stored.AcceptedAt!.Value, TimeSpan.FromSeconds(1));
        Assert.Equal(DateTimeOffset.Parse(encounter.GetProperty("period").GetProperty("end").GetString()!, System.Globalization.CultureInfo.InvariantCulture), stored.ClosedAt!.Value, TimeSpan.FromSeconds(1));
        Assert.Contains(encounter.GetProperty("location").EnumerateArray(), l => l.TryGetProperty("period", out _) && l.GetProperty("status").GetString() == "completed");
    }
}
