using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 18: the handling log and dispatch over HTTP: login and CSRF in the console, the team's link without a login.</summary>
public sealed partial class ConsoleHttpTests
{
    private const string AlarmPage = "/alarms/gw-0042/alarm-1";

    [GeneratedRegex("(/d/[A-Za-z0-9_-]{40,})")]
    private static partial Regex TeamLink();

    [Theory]
    [InlineData("GET", AlarmPage)]
    [InlineData("GET", AlarmPage + "/handling")]
    [InlineData("POST", AlarmPage + "/call")]
    [InlineData("POST", AlarmPage + "/dispatch")]
    public async Task Handling_pages_and_forms_of_the_console_need_a_login(string method, string path)
    {
        using var browser = new Browser(_centre.BaseUrl);
        using var response = await browser.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        Assert.Empty(await _centre.Store.HandlingAsync(StoreContractTests.Key("alarm-1"), default));
    }

    [Fact]
    public async Task Handling_a_call_is_refused_before_accept_and_without_the_csrf_token_and_logged_after_accept()
    {
        using var kari = new Browser(_centre.BaseUrl);
        await kari.LoginAsync("kari", Password);
        var token = await kari.TokenAsync(AlarmPage);

        using (var early = await kari.PostAsync(AlarmPage + "/call", ("csrf", token), ("toWhom", "beboer"), ("outcome", CallOutcome.Reached)))
        {
            Assert.Equal(HttpStatusCode.Conflict, early.StatusCode); // not accepted yet
            Assert.Contains("må være tatt imot", await early.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Redirect, (await kari.PostAsync("/alarms/gw-0042/alarm-1/accept", ("csrf", token))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await kari.PostAsync(AlarmPage + "/call", ("toWhom", "beboer"), ("outcome", CallOutcome.Reached))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await kari.PostAsync(AlarmPage + "/call", ("csrf", token), ("toWhom", "beboer"), ("outcome", "maybe"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await kari.PostAsync(AlarmPage + "/call", ("csrf", token), ("toWhom", ""), ("outcome", CallOutcome.Busy))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await kari.PostAsync(AlarmPage + "/call", ("csrf", token), ("toWhom", "beboer"), ("outcome", CallOutcome.Busy), ("text", new string('x', 1001)))).StatusCode);
        Assert.Empty(await _centre.Store.HandlingAsync(StoreContractTests.Key("alarm-1"), default));

        using var ok = await kari.PostAsync(AlarmPage + "/call", ("csrf", token), ("toWhom", "datter"), ("outcome", CallOutcome.NoAnswer), ("text", "Prøver igjen <om litt>"));
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal(AlarmPage, ok.Headers.Location!.OriginalString);
        var page = await kari.Http.GetStringAsync(AlarmPage + "/handling");
        Assert.Contains("Ringte datter – svarte ikke: «Prøver igjen &lt;om litt&gt;»", page, StringComparison.Ordinal);
        Assert.Contains(await AuditAsync(), e => (e.Actor, e.Action, e.Target) == ("kari", "POST /alarms/{gateway}/{id}/call", "gateway=gw-0042 id=alarm-1") && e.Outcome == "ok");
    }

    [Fact]
    public async Task Dispatch_gives_a_team_link_once_that_opens_the_phone_page_without_login_marks_the_steps_and_ends_at_close()
    {
        await _centre.Store.SetGatewayLabelAsync("gw-0042", "Kunde 1042", "Nord", default);
        using var kari = new Browser(_centre.BaseUrl);
        await kari.LoginAsync("kari", Password);
        var token = await kari.TokenAsync(AlarmPage);
        await kari.PostAsync("/alarms/gw-0042/alarm-1/accept", ("csrf", token));
        await kari.PostAsync(AlarmPage + "/call", ("csrf", token), ("toWhom", "nabo"), ("outcome", CallOutcome.Reached), ("text", "helseopplysning for operatøren"));

        using var sent = await kari.PostAsync(AlarmPage + "/dispatch", ("csrf", token), ("team", "Hjemmetjenesten Nord"));
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        Assert.True(sent.Headers.CacheControl!.NoStore);
        var link = TeamLink().Match(await sent.Content.ReadAsStringAsync()).Groups[1].Value;
        Assert.NotEmpty(link);
        var secret = link["/d/".Length..];
        Assert.DoesNotContain(secret, await kari.Http.GetStringAsync(AlarmPage), StringComparison.Ordinal); // shown once only

        // The team's phone: no login, Bokmål, the task and the home, nothing of the operator's.
        using var phone = new Browser(_centre.BaseUrl);
        var mobile = await phone.Http.GetStringAsync(link);
        Assert.Contains("Jeg er på vei", mobile, StringComparison.Ordinal);
        Assert.Contains("Kunde 1042", mobile, StringComparison.Ordinal);
        Assert.Contains("id=\"resident-details\"", mobile, StringComparison.Ordinal);
        Assert.DoesNotContain("helseopplysning", mobile, StringComparison.Ordinal);
        Assert.DoesNotContain("nabo", mobile, StringComparison.Ordinal);
        Assert.DoesNotContain("console.js", mobile, StringComparison.Ordinal);

        var phoneToken = await phone.TokenAsync(link);
        Assert.Equal(HttpStatusCode.BadRequest, (await phone.PostAsync(link + "/step", ("kind", HandlingKind.OnTheWay))).StatusCode); // CSRF
        Assert.Equal(HttpStatusCode.BadRequest, (await phone.PostAsync(link + "/step", ("csrf", phoneToken), ("kind", HandlingKind.Call))).StatusCode);
        foreach (var kind in new[] { HandlingKind.OnTheWay, HandlingKind.OnTheWay, HandlingKind.Arrived })
        {
            using var marked = await phone.PostAsync(link + "/step", ("csrf", phoneToken), ("kind", kind));
            Assert.Equal(HttpStatusCode.Redirect, marked.StatusCode);
        }

        mobile = await phone.Http.GetStringAsync(link);
        Assert.Contains("data-step=\"done\"", mobile, StringComparison.Ordinal);
        Assert.DoesNotContain("data-step=\"arrived\"", mobile, StringComparison.Ordinal);

        // The console's JSON has the handling, never the link.
        var json = await kari.Http.GetStringAsync("/api/alarms/gw-0042/alarm-1");
        Assert.DoesNotContain(secret, json, StringComparison.Ordinal);
        var alarm = JsonDocument.Parse(json).RootElement;
        Assert.Equal([HandlingKind.Call, HandlingKind.Dispatch, HandlingKind.OnTheWay, HandlingKind.Arrived], alarm.GetProperty("handling").EnumerateArray().Select(s => s.GetProperty("kind").GetString()));
        Assert.Equal("Hjemmetjenesten Nord", alarm.GetProperty("handling")[3].GetProperty("team").GetString());
        Assert.Equal("Hjemmetjenesten Nord", alarm.GetProperty("dispatches")[0].GetProperty("team").GetString());

        // Closing ends the link.
        Assert.Equal(HttpStatusCode.Redirect, (await kari.PostAsync("/alarms/gw-0042/alarm-1/close", ("csrf", token), ("note", ""), ("outcome", CloseOutcome.Handled))).StatusCode);
        using (var gone = await phone.Http.GetAsync(link))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            var body = await gone.Content.ReadAsStringAsync();
            Assert.Contains("virker ikke", body, StringComparison.Ordinal);
            Assert.DoesNotContain("Kunde 1042", body, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await phone.PostAsync(link + "/step", ("csrf", phoneToken), ("kind", HandlingKind.Done))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await phone.Http.GetAsync("/d/" + DispatchRecord.NewToken())).StatusCode);
        Assert.Equal(4, (await _centre.Store.HandlingAsync(StoreContractTests.Key("alarm-1"), default)).Count);

        // Audited: the operator's dispatch and the team's steps, by the dispatch's id; the token is nowhere in the log.
        var log = await AuditAsync();
        Assert.Contains(log, e => (e.Actor, e.Action) == ("kari", "POST /alarms/{gateway}/{id}/dispatch") && e.Target!.Contains("dispatch=", StringComparison.Ordinal));
        Assert.Contains(log, e => (e.Actor, e.Action) == ("team: Hjemmetjenesten Nord", "POST /d/{token}/step") && e.Target!.EndsWith("kind=arrived", StringComparison.Ordinal));
        Assert.Contains(log, e => (e.Actor, e.Action) == ("team: Hjemmetjenesten Nord", "GET /d/{token}"));
        Assert.DoesNotContain(log, e => $"{e.Actor} {e.Action} {e.Target} {e.Outcome}".Contains(secret, StringComparison.Ordinal));
    }
}
