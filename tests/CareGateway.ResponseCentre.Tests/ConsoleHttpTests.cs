using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Text.RegularExpressions;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The console over plain HTTP: login on every endpoint, CSRF on every form, roles, languages.</summary>
public sealed partial class ConsoleHttpTests : IAsyncLifetime, IDisposable
{
    private const string Password = "correct horse battery";
    private readonly TempDir _dir = new();
    private CentreHost _centre = null!;

    public async Task InitializeAsync()
    {
        // A cheap hasher keeps the many logins here fast; the hash's real strength is tested on a host of its own.
        _centre = await CentreHost.StartAsync(CentreHost.Settings(_dir.File("centre.db"), brokerPort: null), services: s => s.AddSingleton(CheapHasher));
        await _centre.AddUserAsync("kari", Roles.Operator, Password);
        await _centre.AddUserAsync("admin", Roles.Admin, Password);
        await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm("alarm-1"), default);
    }

    public async Task DisposeAsync()
    {
        await _centre.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    internal sealed class Browser : IDisposable
    {
        private readonly HttpClientHandler _handler = new() { AllowAutoRedirect = false, CookieContainer = new CookieContainer() };

        public Browser(string baseUrl) => Http = new HttpClient(_handler) { BaseAddress = new Uri(baseUrl) };

        public HttpClient Http { get; }

        public CookieContainer Cookies => _handler.CookieContainer;

        public async Task<string> TokenAsync(string path)
        {
            var html = await Http.GetStringAsync(path);
            return CsrfPattern().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : throw new InvalidOperationException($"no CSRF token on {path}");
        }

        public Task<HttpResponseMessage> PostAsync(string path, params (string, string)[] fields) =>
            Http.PostAsync(path, new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Item1, f.Item2))));

        public async Task<HttpResponseMessage> LoginAsync(string user, string password) =>
            await PostAsync("/login", ("csrf", await TokenAsync("/login")), ("username", user), ("password", password));

        public void Dispose()
        {
            Http.Dispose();
            _handler.Dispose();
        }
    }

    [GeneratedRegex("name=\"csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfPattern();

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/queue/rows")]
    [InlineData("GET", "/events")]
    [InlineData("GET", "/history")]
    [InlineData("GET", "/gateways")]
    [InlineData("GET", "/figures")]
    [InlineData("GET", "/figures.csv")]
    [InlineData("GET", "/figures.json")]
    [InlineData("GET", "/export")]
    [InlineData("GET", "/export/fhir")]
    [InlineData("GET", "/console.js")]
    [InlineData("POST", "/alarms/gw-0042/alarm-1/accept")]
    [InlineData("POST", "/alarms/gw-0042/alarm-1/close")]
    [InlineData("POST", "/gateways/gw-0042")]
    [InlineData("POST", "/lang")]
    [InlineData("POST", "/logout")]
    public async Task Nothing_but_the_login_page_answers_without_login(string method, string path)
    {
        using var browser = new Browser(_centre.BaseUrl);
        using var response = await browser.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync("/login")).StatusCode);
        Assert.Equal(HandlingStatus.Received, (await _centre.Store.GetAlarmAsync(StoreContractTests.Key("alarm-1"), default))!.Status);
    }

    [Fact]
    public async Task Login_checks_the_hashed_password_and_its_form_needs_the_csrf_token()
    {
        using var browser = new Browser(_centre.BaseUrl);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.LoginAsync("kari", "wrong password")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.LoginAsync("nobody", Password)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.PostAsync("/login", ("username", "kari"), ("password", Password))).StatusCode);

        var ok = await browser.LoginAsync("kari", Password);
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync("/")).StatusCode);

        var stored = await _centre.Store.FindUserAsync("kari", default);
        Assert.DoesNotContain(Password, stored!.PasswordHash, StringComparison.Ordinal);
        Assert.StartsWith("AQAAAA", stored.PasswordHash, StringComparison.Ordinal); // ASP.NET Core Identity v3 (PBKDF2-HMAC-SHA512)
    }

    [Fact]
    public async Task Sixty_parallel_wrong_tries_let_only_the_free_ones_through_and_the_right_password_still_gets_in_after_a_short_wait()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(_dir.File("throttle.db"), brokerPort: null),
            services: s => s.AddSingleton<TimeProvider>(clock));
        await centre.AddUserAsync("kari", Roles.Operator, Password);
        await centre.AddUserAsync("admin", Roles.Admin, Password);
        using var attacker = new Browser(centre.BaseUrl);
        var token = await attacker.TokenAsync("/login");

        var answers = await Task.WhenAll(Enumerable.Range(0, 60).Select(async i =>
        {
            using var r = await attacker.PostAsync("/login", ("csrf", token), ("username", "kari"), ("password", "guess " + i));
            return r.StatusCode;
        }));
        Assert.Equal(Service.Web.LoginThrottle.AccountFreeFailures, answers.Count(a => a == HttpStatusCode.Unauthorized));
        Assert.Equal(60 - Service.Web.LoginThrottle.AccountFreeFailures, answers.Count(a => a == HttpStatusCode.TooManyRequests));

        using var kari = new Browser(centre.BaseUrl);
        var refused = await kari.LoginAsync("kari", Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter!.Delta <= Service.Web.LoginThrottle.AccountMaxDelay);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Vent {refused.Headers.RetryAfter.Delta!.Value.TotalSeconds:0} sekunder"),
            await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal); // the page says how long, not only the header
        Assert.Equal(HttpStatusCode.Redirect, (await kari.LoginAsync("admin", Password)).StatusCode); // other users are not held up

        clock.Advance(refused.Headers.RetryAfter.Delta!.Value);
        Assert.Equal(HttpStatusCode.Redirect, (await kari.LoginAsync("kari", Password)).StatusCode);
    }

    [Fact]
    public void Delays_grow_per_name_up_to_a_few_seconds_and_per_address_up_to_minutes_and_a_lock_never_lasts()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var throttle = new Service.Web.LoginThrottle(clock);
        for (var i = 0; i < Service.Web.LoginThrottle.AccountFreeFailures; i++)
        {
            Assert.Null(throttle.TryBegin("Kari", "10.0.0.1"));
        }

        Assert.Equal(TimeSpan.FromSeconds(1), throttle.TryBegin("kari", "10.0.0.2"));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(throttle.TryBegin("KARI", "10.0.0.1"));
        Assert.Equal(TimeSpan.FromSeconds(2), throttle.TryBegin("kari", "10.0.0.2"));

        // An attacker keeping at it for an hour holds her name back by at most the account cap.
        for (var i = 0; i < 3600; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            var wait = throttle.TryBegin("kari", "10.1." + i);
            Assert.True(wait is null || wait <= Service.Web.LoginThrottle.AccountMaxDelay);
        }

        throttle.Succeeded("kari");
        clock.Advance(Service.Web.LoginThrottle.AddressMaxDelay);

        // Spraying from one address: after the free failures each try waits longer, up to the address cap.
        for (var i = 0; i < Service.Web.LoginThrottle.AddressFreeFailures; i++)
        {
            Assert.Null(throttle.TryBegin("user" + i, "192.0.2.9"));
        }

        Assert.Equal(TimeSpan.FromSeconds(1), throttle.TryBegin("someone", "192.0.2.9"));
        Assert.Null(throttle.TryBegin("someone", "192.0.2.10"));
        Assert.Equal(Service.Web.LoginThrottle.AddressMaxDelay, Service.Web.LoginThrottle.Delay(40, Service.Web.LoginThrottle.AddressFreeFailures, Service.Web.LoginThrottle.AddressMaxDelay));
        clock.Advance(Service.Web.LoginThrottle.Window);
        Assert.Null(throttle.TryBegin("someone", "192.0.2.9"));
    }

    [Fact]
    public async Task An_unknown_user_name_costs_the_same_password_hash_as_a_known_one()
    {
        var hasher = new CountingHasher();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(_dir.File("timing.db"), brokerPort: null),
            services: s => s.AddSingleton<Microsoft.AspNetCore.Identity.IPasswordHasher<CentreUser>>(hasher));
        await centre.AddUserAsync("kari", Roles.Operator, Password);
        using var browser = new Browser(centre.BaseUrl);

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.LoginAsync("kari", "wrong password")).StatusCode);
        Assert.Equal(1, hasher.Verified);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.LoginAsync("nobody", "wrong password")).StatusCode);
        Assert.Equal(2, hasher.Verified);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.LoginAsync("", "wrong password")).StatusCode);
        Assert.Equal(3, hasher.Verified);
    }

    /// <summary>The real hasher, counting how often a password is checked.</summary>
    private sealed class CountingHasher : Microsoft.AspNetCore.Identity.IPasswordHasher<CentreUser>
    {
        private readonly Microsoft.AspNetCore.Identity.PasswordHasher<CentreUser> _real = new();
        private int _verified;

        public int Verified => Volatile.Read(ref _verified);

        public string HashPassword(CentreUser user, string password) => _real.HashPassword(user, password);

        public Microsoft.AspNetCore.Identity.PasswordVerificationResult VerifyHashedPassword(CentreUser user, string hashedPassword, string providedPassword)
        {
            Interlocked.Increment(ref _verified);
            return _real.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }

    [Fact]
    public void The_login_throttle_keeps_at_most_its_capacity_however_many_names_are_tried_and_forgets_them_in_time()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var throttle = new Service.Web.LoginThrottle(clock);
        for (var i = 0; i < Service.Web.LoginThrottle.Capacity + 500; i++)
        {
            throttle.TryBegin($"{i:D6}{new string('x', Service.Web.ConsoleEndpoints.MaxUserNameLength - 6)}", "a" + i);
        }

        Assert.Equal(Service.Web.LoginThrottle.Capacity, throttle.Count);
        clock.Advance(TimeSpan.FromSeconds(1));
        throttle.TryBegin("kari", "192.0.2.2");
        Assert.Equal(Service.Web.LoginThrottle.Capacity, throttle.Count); // the oldest went, the newest are kept

        clock.Advance(Service.Web.LoginThrottle.Window);
        throttle.TryBegin("admin", "192.0.2.3");
        Assert.Equal(2, throttle.Count); // the expired entries made room
    }

    [Fact]
    public async Task An_oversized_login_form_or_field_is_refused_before_it_is_read_or_remembered()
    {
        var throttle = (Service.Web.LoginThrottle)_centre.App.Services.GetService(typeof(Service.Web.LoginThrottle))!;
        using var browser = new Browser(_centre.BaseUrl);
        var token = await browser.TokenAsync("/login");

        using (var huge = await browser.PostAsync("/login", ("csrf", token), ("username", new string('a', 1024 * 1024)), ("password", "x")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        }

        // Sent without a declared length (chunked): reading stops at the limit.
        var chunked = new StringContent("csrf=" + Uri.EscapeDataString(token) + "&username=" + new string('b', 200_000) + "&password=x", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded");
        chunked.Headers.ContentLength = null;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/login") { Content = chunked })
        {
            request.Headers.TransferEncodingChunked = true;
            using var response = await browser.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }

        var longName = new string('c', Service.Web.ConsoleEndpoints.MaxUserNameLength + 1);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.LoginAsync(longName, "x")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.LoginAsync("kari", new string('p', Service.Web.ConsoleEndpoints.MaxPasswordLength + 1))).StatusCode);
        Assert.Equal(0, throttle.Count);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.LoginAsync("kari", Password)).StatusCode);
    }

    [Fact]
    public async Task Accepting_needs_the_csrf_token_and_then_moves_the_alarm()
    {
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.PostAsync("/alarms/gw-0042/alarm-1/accept")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.PostAsync("/alarms/gw-0042/alarm-1/accept", ("csrf", "forged"))).StatusCode);
        Assert.Equal(HandlingStatus.Received, (await _centre.Store.GetAlarmAsync(StoreContractTests.Key("alarm-1"), default))!.Status);

        var response = await browser.PostAsync("/alarms/gw-0042/alarm-1/accept", ("csrf", await browser.TokenAsync("/")));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var alarm = await _centre.Store.GetAlarmAsync(StoreContractTests.Key("alarm-1"), default);
        Assert.Equal(HandlingStatus.Accepted, alarm!.Status);
        Assert.StartsWith("operator-", alarm.AcceptedBy, StringComparison.Ordinal);

        var close = await browser.PostAsync("/alarms/gw-0042/alarm-1/close", ("csrf", await browser.TokenAsync("/")), ("note", "Ringte, alt i orden"), ("outcome", "false-alarm"));
        Assert.Equal(HttpStatusCode.Redirect, close.StatusCode);
        alarm = await _centre.Store.GetAlarmAsync(StoreContractTests.Key("alarm-1"), default);
        Assert.Equal((HandlingStatus.Closed, "Ringte, alt i orden", "false-alarm"), (alarm!.Status, alarm.Note, alarm.Outcome));
        Assert.Contains("Ringte, alt i orden", await browser.Http.GetStringAsync("/history?from=2026-11-20&to=2026-11-30"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_alarm_id_with_slashes_and_dots_is_encoded_in_its_form_and_can_be_accepted_and_closed()
    {
        const string id = "../../logout?x=/a%2F#b";
        await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm(id), default);
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);

        var html = await browser.Http.GetStringAsync("/");
        var accept = "/alarms/gw-0042/" + Uri.EscapeDataString(id) + "/accept";
        Assert.Contains($"action=\"{WebUtility.HtmlEncode(accept)}\"", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostAsync(accept, ("csrf", await browser.TokenAsync("/")))).StatusCode);
        Assert.Equal(HandlingStatus.Accepted, (await _centre.Store.GetAlarmAsync(StoreContractTests.Key(id), default))!.Status);
        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync("/")).StatusCode); // still logged in: Accept did not turn into logout

        var close = "/alarms/gw-0042/" + Uri.EscapeDataString(id) + "/close";
        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostAsync(close, ("csrf", await browser.TokenAsync("/")), ("note", ""), ("outcome", "false-alarm"))).StatusCode);
        Assert.Equal(HandlingStatus.Closed, (await _centre.Store.GetAlarmAsync(StoreContractTests.Key(id), default))!.Status);
    }

    [Fact]
    public async Task Every_page_and_export_renders_for_a_logged_in_operator()
    {
        var kari = await _centre.Store.FindUserAsync("kari", default);
        await _centre.Store.AddAlarmAsync(StoreContractTests.Alarm("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f99", type: Protocol.AlarmType.Fall), default);
        await _centre.Core.AcceptAsync(StoreContractTests.Key("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f99"), kari!, default);
        await _centre.Core.CloseAsync(StoreContractTests.Key("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f99"), kari!, "Hjemmesykepleien dro innom", CloseOutcome.Handled, default);
        await _centre.Store.SetGatewayLabelAsync("gw-0042", "Kunde 1", "Nord", default);
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        const string range = "?from=2026-11-20&to=2026-11-30";

        Assert.Contains("Kunde 1", await browser.Http.GetStringAsync("/gateways"), StringComparison.Ordinal);
        var figures = await browser.Http.GetStringAsync("/figures" + range + "&period=day&group=Nord");
        Assert.Contains("<svg class=\"chart\"", figures, StringComparison.Ordinal);
        Assert.Contains("Nord", figures, StringComparison.Ordinal);
        Assert.StartsWith("period_start,", await browser.Http.GetStringAsync("/figures.csv" + range), StringComparison.Ordinal);
        using (var json = System.Text.Json.JsonDocument.Parse(await browser.Http.GetStringAsync("/figures.json" + range + "&period=week")))
        {
            Assert.Equal("week", json.RootElement.GetProperty("period").GetString());
        }

        var fhir = await browser.Http.GetAsync("/export/fhir" + range);
        Assert.Equal("application/fhir+json", fhir.Content.Headers.ContentType!.MediaType);
        var body = await fhir.Content.ReadAsStringAsync();
        Assert.Contains("\"resourceType\": \"Bundle\"", body, StringComparison.Ordinal);
        Assert.Contains("Hjemmesykepleien dro innom", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync("/export")).StatusCode);
        Assert.Contains("text/javascript", (await browser.Http.GetAsync("/console.js")).Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_an_admin_may_label_a_home()
    {
        using var op = new Browser(_centre.BaseUrl);
        await op.LoginAsync("kari", Password);
        var refused = await op.PostAsync("/gateways/gw-0042", ("csrf", await op.TokenAsync("/gateways")), ("label", "Kunde 1"), ("group", "Nord"));
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.StartsWith("/login", new Uri(new Uri(_centre.BaseUrl), refused.Headers.Location!).PathAndQuery, StringComparison.Ordinal); // access denied
        Assert.Null((await _centre.Store.GetGatewayAsync("gw-0042", default))?.Label);

        using var admin = new Browser(_centre.BaseUrl);
        await admin.LoginAsync("admin", Password);
        var ok = await admin.PostAsync("/gateways/gw-0042", ("csrf", await admin.TokenAsync("/gateways")), ("label", "Kunde 1"), ("group", "Nord"));
        Assert.Equal("/gateways", ok.Headers.Location!.OriginalString);
        Assert.Equal(("Kunde 1", "Nord"), ((await _centre.Store.GetGatewayAsync("gw-0042", default))!.Label, (await _centre.Store.GetGatewayAsync("gw-0042", default))!.HomeGroup));
    }

    [Fact]
    public async Task The_console_speaks_bokmal_by_default_and_english_after_the_switch()
    {
        using var browser = new Browser(_centre.BaseUrl);
        await browser.LoginAsync("kari", Password);
        var nb = await browser.Http.GetStringAsync("/");
        Assert.Contains("Alarmkø", nb, StringComparison.Ordinal);
        Assert.Contains("Forlatt bolig", nb, StringComparison.Ordinal);
        Assert.Contains("lang=\"nb\"", nb, StringComparison.Ordinal);

        var token = await browser.TokenAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostAsync("/lang", ("csrf", token), ("lang", "en"))).StatusCode);
        var en = await browser.Http.GetStringAsync("/");
        Assert.Contains("Alarm queue", en, StringComparison.Ordinal);
        Assert.Contains("Left home", en, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_console_word_exists_in_both_languages()
    {
        foreach (var key in Service.Web.Texts.Keys)
        {
            Assert.False(string.IsNullOrWhiteSpace(Service.Web.Texts.T("nb", key)), key);
            Assert.False(string.IsNullOrWhiteSpace(Service.Web.Texts.T("en", key)), key);
        }

        foreach (var type in Protocol.AlarmCatalog.All.Select(t => t.Type).Concat(CentreAlarmType.All))
        {
            Assert.Contains("type." + type, Service.Web.Texts.Keys);
        }

        await Task.CompletedTask;
    }
}
