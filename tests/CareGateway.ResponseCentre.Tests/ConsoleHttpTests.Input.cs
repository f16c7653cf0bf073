using System.Net;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 19: every query value is checked at the edge (findings 7 and 11).</summary>
public sealed partial class ConsoleHttpTests
{
    [Theory]
    [InlineData("/figures?from=2001-01-01&to=2026-01-01&period=day", "at most 400 days")] // a quarter-century by day (a century took 5.7 s and 123 MB before)
    [InlineData("/figures.json?from=2001-01-01&to=2026-01-01&period=week", "at most 1830 days")]
    [InlineData("/figures.csv?from=0001-01-01", "outside the dates the centre holds")] // was a 500
    [InlineData("/figures?to=9999-12-31", "outside the dates the centre holds")]
    [InlineData("/figures?from=bad", "from: 'bad' is not a date")] // was ignored silently
    [InlineData("/figures?from=2026-11-30&to=2026-11-01", "is before from")]
    [InlineData("/figures?period=year", "period: 'year' is not one of day, week, month")]
    [InlineData("/figures.csv?group=%3DHYPERLINK(%22http%3A%2F%2Fevil%22)", "is not a home group of this centre")]
    [InlineData("/history?from=2020-01-01&to=2026-01-01", "at most 366 days")]
    [InlineData("/export/fhir?from=2020-01-01&to=2026-01-01", "at most 366 days")]
    [InlineData("/export?from=2026-13-01", "is not a date")]
    public async Task A_range_or_value_the_page_cannot_serve_is_refused_with_a_sentence_naming_it(string path, string expected)
    {
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        using var response = await browser.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains(expected, body, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_longest_ranges_each_page_allows_still_answer()
    {
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        foreach (var path in new[] { "/figures.json?from=2025-01-01&to=2026-02-04&period=day", "/figures.csv?from=2021-01-01&to=2025-12-31&period=week", "/history?from=2025-12-01&to=2026-12-01" })
        {
            using var response = await browser.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task A_home_group_that_looks_like_a_formula_reaches_the_csv_as_text_a_spreadsheet_does_not_run()
    {
        await _centre.Store.SetGatewayLabelAsync("gw-0042", "Kunde 1", "=HYPERLINK(\"http://evil\",\"x\")", default);
        await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f11"), default);
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        var csv = await browser.Http.GetStringAsync("/figures.csv?from=2026-11-01&to=2026-12-31&group=" + Uri.EscapeDataString("=HYPERLINK(\"http://evil\",\"x\")"));
        var cells = csv.Split('\n')[1];
        Assert.Contains(",\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",", cells, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_posted_from_another_site_is_refused_even_with_a_valid_token()
    {
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        using var forged = new HttpRequestMessage(HttpMethod.Post, "/logout")
        {
            Content = new FormUrlEncodedContent([new KeyValuePair<string, string>("csrf", await browser.TokenAsync("/"))]),
        };
        forged.Headers.Add("Origin", "https://evil.example");
        using var answer = await browser.Http.SendAsync(forged);
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.Contains("sent from https://evil.example, not from this console", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync("/")).StatusCode); // still logged in

        using var own = new HttpRequestMessage(HttpMethod.Post, "/logout")
        {
            Content = new FormUrlEncodedContent([new KeyValuePair<string, string>("csrf", await browser.TokenAsync("/"))]),
        };
        own.Headers.Add("Origin", _centre.BaseUrl.TrimEnd('/'));
        using var ok = await browser.Http.SendAsync(own);
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
    }

    [Fact]
    public async Task A_note_longer_than_the_form_allows_is_refused_by_the_server_and_the_alarm_stays_open()
    {
        const string id = "019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f31";
        await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm(id), default);
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        using var answer = await browser.PostAsync($"/alarms/gw-0042/{id}/close", ("csrf", await browser.TokenAsync("/")), ("note", new string('x', 3_000_000)), ("outcome", "handled"));
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Contains("at most 2000", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotEqual(HandlingStatus.Closed, (await _centre.Store.GetAlarmAsync(StoreContractTests.Key(id), default))!.Status);
    }

    [Fact]
    public async Task The_content_security_policy_pins_the_base_address_and_where_forms_may_go()
    {
        using var browser = new Browser(_centre.BaseUrl);
        using var answer = await browser.Http.GetAsync("/login");
        var csp = answer.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("base-uri 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("form-action 'self'", csp, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_console_acts_on_one_homes_alarm_even_when_another_gateway_sent_the_same_id()
    {
        const string id = "019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f41";
        await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm(id, "gw-home-a"), default);
        await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm(id, "gw-intruder"), default);
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        var html = await browser.Http.GetStringAsync("/");
        Assert.Contains($"action=\"/alarms/gw-home-a/{id}/accept\"", html, StringComparison.Ordinal);
        Assert.Contains($"action=\"/alarms/gw-intruder/{id}/accept\"", html, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostAsync($"/alarms/gw-home-a/{id}/accept", ("csrf", await browser.TokenAsync("/")))).StatusCode);
        Assert.Equal(HandlingStatus.Accepted, (await _centre.Store.GetAlarmAsync(StoreContractTests.Key(id, "gw-home-a"), default))!.Status);
        Assert.Equal(HandlingStatus.Received, (await _centre.Store.GetAlarmAsync(StoreContractTests.Key(id, "gw-intruder"), default))!.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.PostAsync($"/alarms/gw-nobody/{id}/accept", ("csrf", await browser.TokenAsync("/")))).StatusCode);
    }

    [Fact]
    public async Task A_flooded_queue_is_shown_a_page_at_a_time_most_urgent_first_and_every_row_is_reachable()
    {
        // One home floods the centre with 250 alarms; another home's critical alarm must still be on the first page.
        for (var i = 0; i < 250; i++)
        {
            await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm(Guid.CreateVersion7().ToString(), "gw-flood", seq: i + 1, priority: Protocol.AlarmPriority.Medium), default);
        }

        const string critical = "019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f51";
        await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm(critical, "gw-other", priority: Protocol.AlarmPriority.Critical), default);
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);

        static int Rows(string html) => System.Text.RegularExpressions.Regex.Count(html, "<tr data-alarm-id=");
        var first = await browser.Http.GetStringAsync("/");
        Assert.Equal(100, Rows(first));
        Assert.Contains($"data-alarm-id=\"{critical}\"", first, StringComparison.Ordinal);
        Assert.Contains("1–100 av 252 åpne alarmer", first, StringComparison.Ordinal);
        Assert.Contains("href=\"/?page=2\"", first, StringComparison.Ordinal);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var page = 1; page <= 3; page++)
        {
            var rows = await browser.Http.GetStringAsync($"/queue/rows?page={page}");
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(rows, "<tr data-alarm-id=\"([^\"]+)\" data-gateway=\"([^\"]+)\""))
            {
                Assert.True(seen.Add(m.Groups[2].Value + "/" + m.Groups[1].Value), "a row shown on two pages");
            }
        }

        Assert.Equal(252, seen.Count);
        var last = await browser.Http.GetStringAsync("/queue/rows?page=3");
        Assert.Equal(52, Rows(last));
        Assert.Contains("href=\"/?page=2\"", last, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"/?page=4\"", last, StringComparison.Ordinal);
        Assert.Equal(0, Rows(await browser.Http.GetStringAsync("/queue/rows?page=9")));
    }

    [Theory]
    [InlineData("/?page=abc")]
    [InlineData("/?page=0")]
    [InlineData("/queue/rows?page=-1")]
    [InlineData("/queue/rows?page=99999999999")]
    public async Task A_queue_page_that_is_no_page_number_is_refused(string path)
    {
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        using var answer = await browser.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Contains("is not a page number", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("label", 101)]
    [InlineData("group", 4_000)]
    public async Task A_home_label_or_group_too_long_for_one_line_is_refused_not_cut(string field, int length)
    {
        using var admin = new Browser(_centre.BaseUrl);
        await admin.LoginAsync("admin", Password);
        using var answer = await admin.PostAsync("/gateways/gw-0042", ("csrf", await admin.TokenAsync("/gateways")), (field, new string('x', length)));
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Contains($"{field}: a home's {field} is at most 100 characters", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null((await _centre.Store.GetGatewayAsync("gw-0042", default))?.Label);
    }
}
