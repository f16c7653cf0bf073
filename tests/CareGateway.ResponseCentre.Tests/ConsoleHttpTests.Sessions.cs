using System.Net;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 19 finding 4 and the CSRF part of 15: sessions end when they should, and form tokens with them.</summary>
public sealed partial class ConsoleHttpTests
{
    private static async Task<bool> SignedInAsync(Browser browser)
    {
        using var r = await browser.Http.GetAsync("/");
        return r.StatusCode == HttpStatusCode.OK;
    }

    private static string AuthCookie(Browser browser, string baseUrl) =>
        browser.Cookies.GetCookies(new Uri(baseUrl))["centre-auth"]?.Value ?? throw new InvalidOperationException("no session cookie");

    private static async Task<HttpStatusCode> GetWithCookieAsync(string baseUrl, string cookie)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(baseUrl) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("Cookie", $"centre-auth={cookie}");
        using var r = await http.SendAsync(request);
        return r.StatusCode;
    }

    [Fact]
    public async Task Logging_out_ends_every_session_of_that_user_and_the_old_cookie_no_longer_works()
    {
        using var desk1 = new Browser(_centre.BaseUrl);
        using var desk2 = new Browser(_centre.BaseUrl);
        using var other = new Browser(_centre.BaseUrl);
        await desk1.LoginAsync("kari", Password);
        await desk2.LoginAsync("kari", Password);
        await other.LoginAsync("admin", Password);
        var copied = AuthCookie(desk1, _centre.BaseUrl);
        Assert.Equal(HttpStatusCode.OK, await GetWithCookieAsync(_centre.BaseUrl, copied));

        Assert.Equal(HttpStatusCode.Redirect, (await desk1.PostAsync("/logout", ("csrf", await desk1.TokenAsync("/")))).StatusCode);

        Assert.Equal(HttpStatusCode.Redirect, await GetWithCookieAsync(_centre.BaseUrl, copied)); // a stolen or kept cookie
        Assert.False(await SignedInAsync(desk2));
        Assert.True(await SignedInAsync(other)); // another user's session is untouched
        await desk2.LoginAsync("kari", Password);
        Assert.True(await SignedInAsync(desk2));
    }

    [Fact]
    public async Task A_new_password_ends_the_sessions_begun_with_the_old_one()
    {
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        Assert.True(await SignedInAsync(browser));

        await _centre.AddUserAsync("kari", Roles.Operator, "a brand new pass phrase");

        Assert.False(await SignedInAsync(browser));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.LoginAsync("kari", Password)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.LoginAsync("kari", "a brand new pass phrase")).StatusCode);
    }

    [Fact]
    public async Task The_role_comes_from_the_database_and_a_new_role_ends_the_session()
    {
        using var admin = new Browser(_centre.BaseUrl);
        await admin.LoginAsync("admin", Password);
        var token = await admin.TokenAsync("/gateways");

        // The role lowered in the database behind the session's back (same stamp): the cookie still says admin.
        var stored = (await _centre.Store.FindUserAsync("admin", default))!;
        await _centre.Store.SaveUserAsync(stored with { Role = Roles.Operator }, default);
        var refused = await admin.PostAsync("/gateways/gw-0042", ("csrf", token), ("label", "Kunde 9"), ("group", "Nord"));
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.StartsWith("/login", new Uri(new Uri(_centre.BaseUrl), refused.Headers.Location!).PathAndQuery, StringComparison.Ordinal); // access denied
        Assert.Null((await _centre.Store.GetGatewayAsync("gw-0042", default))?.Label);
        Assert.True(await SignedInAsync(admin)); // still an operator

        // Changing the role the way an administrator does (add-user) gives a new stamp: the session ends.
        await _centre.Store.SaveUserAsync(stored, default);
        await _centre.AddUserAsync("admin", Roles.Operator, Password);
        Assert.False(await SignedInAsync(admin));
    }

    [Fact]
    public async Task A_session_ends_at_its_absolute_lifetime_however_active_it_was()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 6, 0, 0, TimeSpan.Zero));
        var settings = CentreHost.Settings(_dir.File("lifetime.db"), brokerPort: null);
        settings["Centre:Web:SessionMaxHours"] = "8";
        await using var centre = await CentreHost.StartAsync(settings, services: s => s.AddSingleton<TimeProvider>(clock));
        await centre.AddUserAsync("kari", Roles.Operator, Password);
        using var browser = new Browser(centre.BaseUrl);
        await browser.LoginAsync("kari", Password);

        for (var hour = 0; hour < 7; hour++)
        {
            clock.Advance(TimeSpan.FromHours(1)); // a request every hour renews the sliding window
            Assert.True(await SignedInAsync(browser), $"signed out after {hour + 1} h");
        }

        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.True(await SignedInAsync(browser));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.False(await SignedInAsync(browser)); // 8 h after the login
        await browser.LoginAsync("kari", Password);
        Assert.True(await SignedInAsync(browser));
    }

    [Fact]
    public async Task The_live_stream_ends_when_the_session_does()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 6, 0, 0, TimeSpan.Zero));
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(_dir.File("stream.db"), brokerPort: null), services: s => s.AddSingleton<TimeProvider>(clock));
        await centre.AddUserAsync("kari", Roles.Operator, Password);
        using var desk1 = new Browser(centre.BaseUrl);
        using var desk2 = new Browser(centre.BaseUrl);
        await desk1.LoginAsync("kari", Password);
        await desk2.LoginAsync("kari", Password);

        using var response = await desk1.Http.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("retry: 2000", await reader.ReadLineAsync());
        await desk2.PostAsync("/logout", ("csrf", await desk2.TokenAsync("/")));

        // The stream checks its session on each 15 s tick; tick the fake clock until it says the session ended.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var lines = new List<string>();
        var reading = reader.ReadLineAsync(timeout.Token).AsTask();
        while (true)
        {
            // Not a wait on wall-clock speed: a short yield between ticks of the fake clock until the event arrives.
            var done = await Task.WhenAny(reading, Task.Delay(20, timeout.Token));
            if (done != reading)
            {
                clock.Advance(TimeSpan.FromSeconds(15));
                continue;
            }

            var line = await reading;
            if (line is null)
            {
                break;
            }

            lines.Add(line);
            reading = reader.ReadLineAsync(timeout.Token).AsTask();
        }

        Assert.Contains("event: ended", lines);
        Assert.DoesNotContain("event: alarm", lines);
    }

    [Fact]
    public async Task An_escalated_alarm_says_so_in_the_queue_and_a_supervisors_queue_has_the_banner()
    {
        await _centre.AddUserAsync("siri", Roles.Supervisor, Password);
        await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f77", type: Protocol.AlarmType.Panic, priority: Protocol.AlarmPriority.Critical) with { EscalatedAt = DateTimeOffset.UtcNow }, default);

        using var op = new Browser(_centre.BaseUrl);
        await op.LoginAsync("kari", Password);
        var rows = await op.Http.GetStringAsync("/queue/rows");
        Assert.Contains("Ikke tatt imot i tide: eskalert", rows, StringComparison.Ordinal);
        Assert.DoesNotContain("escalation-banner", rows, StringComparison.Ordinal);

        using var supervisor = new Browser(_centre.BaseUrl);
        await supervisor.LoginAsync("siri", Password);
        Assert.Contains("1 alarm(er) venter over tiden og er eskalert til deg.", await supervisor.Http.GetStringAsync("/queue/rows"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_token_from_an_earlier_session_is_refused()
    {
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        var old = await browser.TokenAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostAsync("/lang", ("csrf", old), ("lang", "en"))).StatusCode);

        await browser.PostAsync("/logout", ("csrf", await browser.TokenAsync("/")));
        await browser.LoginAsync("kari", Password);

        Assert.Equal(HttpStatusCode.BadRequest, (await browser.PostAsync("/lang", ("csrf", old), ("lang", "nb"))).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostAsync("/lang", ("csrf", await browser.TokenAsync("/")), ("lang", "nb"))).StatusCode);
    }
}
