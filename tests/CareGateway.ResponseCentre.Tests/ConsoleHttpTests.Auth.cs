using System.Buffers.Binary;
using System.Net;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.ResponseCentre.Service.Web;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OtpNet;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 19 finding 14 over HTTP: the hash's strength follows the guidance, the second factor.</summary>
public sealed partial class ConsoleHttpTests
{
    /// <summary>The iteration count of an Identity v3 hash: after the format marker (1 byte) and the PRF (4 bytes), big-endian.</summary>
    private static int Iterations(string hash) => BinaryPrimitives.ReadInt32BigEndian(Convert.FromBase64String(hash).AsSpan(5, 4));

    private static int Prf(string hash) => BinaryPrimitives.ReadInt32BigEndian(Convert.FromBase64String(hash).AsSpan(1, 4));

    /// <summary>The service's hasher at 1,000 iterations, for tests that log in often and do not test the hash's strength.</summary>
    internal static readonly IPasswordHasher<CentreUser> CheapHasher = PasswordHashing.NewHasher(1_000);

    [Fact]
    public async Task A_password_hashed_with_fewer_iterations_is_rehashed_at_login_and_the_security_stamp_is_kept()
    {
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(_dir.File("rehash.db"), brokerPort: null)); // the real hasher
        var kari = await centre.AddUserAsync("kari", Roles.Operator, Password);
        Assert.Equal(PasswordHashing.IterationCount, Iterations(kari.PasswordHash)); // add-user hashes at today's count
        var old = kari with { PasswordHash = new PasswordHasher<CentreUser>().HashPassword(kari, Password) }; // Identity's default
        Assert.Equal(100_000, Iterations(old.PasswordHash));
        await centre.Store.SaveUserAsync(old, default);

        using var browser = new Browser(centre.BaseUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.LoginAsync("kari", Password)).StatusCode);

        var stored = (await centre.Store.FindUserAsync("kari", default))!;
        Assert.Equal(PasswordHashing.IterationCount, Iterations(stored.PasswordHash));
        Assert.Equal((int)Microsoft.AspNetCore.Cryptography.KeyDerivation.KeyDerivationPrf.HMACSHA512, Prf(stored.PasswordHash));
        Assert.Equal(old.SecurityStamp, stored.SecurityStamp); // a rehash is not a password change
        Assert.Equal(PasswordVerificationResult.Success, PasswordHashing.NewHasher().VerifyHashedPassword(stored, stored.PasswordHash, Password));

        // Once strong, a login leaves the hash as it is.
        using var again = new Browser(centre.BaseUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await again.LoginAsync("kari", Password)).StatusCode);
        Assert.Equal(stored.PasswordHash, (await centre.Store.FindUserAsync("kari", default))!.PasswordHash);
    }

    private static readonly DateTimeOffset Morning = new(2026, 12, 7, 8, 0, 10, TimeSpan.Zero);

    /// <summary>A host on a fake clock (with the cheap hasher), kari enrolled with a second factor and admin without.</summary>
    private async Task<(CentreHost Centre, FakeTimeProvider Clock, string Secret)> SecondFactorCentreAsync(string db, bool require = false)
    {
        var clock = new FakeTimeProvider(Morning);
        var settings = CentreHost.Settings(_dir.File(db), brokerPort: null);
        settings["Centre:Web:RequireSecondFactor"] = require ? "true" : "false";
        var centre = await CentreHost.StartAsync(settings, services: s =>
        {
            s.AddSingleton<TimeProvider>(clock);
            s.AddSingleton(CheapHasher);
        });
        var kari = await centre.AddUserAsync("kari", Roles.Operator, Password);
        await centre.AddUserAsync("admin", Roles.Admin, Password);
        var (_, uri, secret) = await TotpCommand.EnrolAsync(centre.Store, kari, default);
        Assert.StartsWith("otpauth://totp/", uri, StringComparison.Ordinal);
        Assert.Contains("issuer=Care%20response%20centre", uri, StringComparison.Ordinal);
        return (centre, clock, secret);
    }

    /// <summary>The code an authenticator app shows at the centre's (fake) time, computed as the app does.</summary>
    private static string AppCode(string secret, TimeProvider clock) => new Totp(Base32Encoding.ToBytes(secret)).ComputeTotp(clock.GetUtcNow().UtcDateTime);

    [System.Text.RegularExpressions.GeneratedRegex("name=\"ticket\" value=\"([^\"]+)\"")]
    private static partial System.Text.RegularExpressions.Regex TicketPattern();

    /// <summary>Posts the code with the ticket and form token of the code page <paramref name="page"/>.</summary>
    private static async Task<HttpResponseMessage> CodeAsync(Browser browser, string page, string code)
    {
        var ticket = WebUtility.HtmlDecode(TicketPattern().Match(page).Groups[1].Value);
        var csrf = WebUtility.HtmlDecode(CsrfPattern().Match(page).Groups[1].Value);
        return await browser.PostAsync("/login/code", ("csrf", csrf), ("ticket", ticket), ("code", code));
    }

    /// <summary>The password step for a user with a second factor: 200 and the code page, nobody signed in yet.</summary>
    private static async Task<string> PasswordStepAsync(Browser browser, string user = "kari")
    {
        using var response = await browser.LoginAsync(user, Password);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains("action=\"/login/code\"", page, StringComparison.Ordinal);
        return page;
    }

    [Fact]
    public async Task With_a_second_factor_the_right_password_alone_does_not_sign_in_and_the_right_code_then_does()
    {
        var (centre, clock, secret) = await SecondFactorCentreAsync("totp.db");
        await using var _ = centre;
        using var browser = new Browser(centre.BaseUrl);

        var page = await PasswordStepAsync(browser);
        Assert.Contains("autocomplete=\"one-time-code\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, page, StringComparison.Ordinal);
        using (var notYet = await browser.Http.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.Redirect, notYet.StatusCode); // the password alone gave no session
            Assert.StartsWith("/login", notYet.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
        }

        clock.Advance(TimeSpan.FromSeconds(20)); // typing the code
        using var signedIn = await CodeAsync(browser, page, AppCode(secret, clock));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync("/")).StatusCode);
        Assert.True((await centre.Store.FindUserAsync("kari", default))!.TotpLastStep > 0);

        // admin has no second factor and the centre does not require one: the password signs in as before.
        using var admin = new Browser(centre.BaseUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await admin.LoginAsync("admin", Password)).StatusCode);
    }

    [Fact]
    public async Task A_wrong_code_is_401_and_wrong_codes_count_in_the_login_throttle()
    {
        var (centre, clock, secret) = await SecondFactorCentreAsync("totp-wrong.db");
        await using var _ = centre;
        using var browser = new Browser(centre.BaseUrl);
        var page = await PasswordStepAsync(browser); // one try counted for the name until the login succeeds
        var right = AppCode(secret, clock);
        var wrong = right == "000000" ? "111111" : "000000";

        using (var refused = await CodeAsync(browser, page, wrong))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("Feil kode", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await CodeAsync(browser, page, "12345")).StatusCode); // not six digits
        using var waiting = await CodeAsync(browser, page, right);
        Assert.Equal(HttpStatusCode.TooManyRequests, waiting.StatusCode); // the password try and two wrong codes
        using (var admin = new Browser(centre.BaseUrl))
        {
            Assert.Equal(HttpStatusCode.Redirect, (await admin.LoginAsync("admin", Password)).StatusCode); // only kari's name waits
        }

        clock.Advance(waiting.Headers.RetryAfter!.Delta!.Value);
        Assert.Equal(HttpStatusCode.Redirect, (await CodeAsync(browser, page, AppCode(secret, clock))).StatusCode);
    }

    [Fact]
    public async Task The_same_code_twice_is_refused_and_the_next_steps_code_works()
    {
        var (centre, clock, secret) = await SecondFactorCentreAsync("totp-replay.db");
        await using var _ = centre;
        var code = AppCode(secret, clock);
        using var first = new Browser(centre.BaseUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await CodeAsync(first, await PasswordStepAsync(first), code)).StatusCode);

        using var second = new Browser(centre.BaseUrl); // someone who saw the password and the code
        var page = await PasswordStepAsync(second);
        Assert.Equal(HttpStatusCode.Unauthorized, (await CodeAsync(second, page, code)).StatusCode);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.Unauthorized, (await CodeAsync(second, page, code)).StatusCode); // still inside the window: still used

        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Redirect, (await CodeAsync(second, page, AppCode(secret, clock))).StatusCode);
    }

    [Fact]
    public async Task A_code_after_the_ticket_expired_or_after_a_password_reset_is_refused()
    {
        var (centre, clock, secret) = await SecondFactorCentreAsync("totp-expired.db");
        await using var _ = centre;
        using var browser = new Browser(centre.BaseUrl);
        var page = await PasswordStepAsync(browser);

        clock.Advance(SecondFactor.TicketLifetime + TimeSpan.FromSeconds(1));
        using (var expired = await CodeAsync(browser, page, AppCode(secret, clock)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
            var html = await expired.Content.ReadAsStringAsync();
            Assert.Contains("Logg inn på nytt", html, StringComparison.Ordinal);
            Assert.Contains("action=\"/login\"", html, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Redirect, (await browser.Http.GetAsync("/")).StatusCode);

        // A ticket issued before the password was reset names an old stamp: it no longer counts.
        page = await PasswordStepAsync(browser);
        await UserCommand.ResetPasswordAsync(centre.Store, (await centre.Store.FindUserAsync("kari", default))!, null, "staple on the table", default, CheapHasher);
        Assert.Equal(HttpStatusCode.Unauthorized, (await CodeAsync(browser, page, AppCode(secret, clock))).StatusCode);

        // A forged or altered ticket is refused the same way.
        using var forged = await browser.PostAsync("/login/code", ("csrf", await browser.TokenAsync("/login")), ("ticket", "CfDJ8forged"), ("code", AppCode(secret, clock)));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
    }

    [Fact]
    public async Task When_the_centre_requires_a_second_factor_a_user_without_one_is_told_to_enrol_and_not_signed_in()
    {
        var (centre, clock, secret) = await SecondFactorCentreAsync("totp-required.db", require: true);
        await using var _ = centre;
        using var admin = new Browser(centre.BaseUrl);
        using (var refused = await admin.LoginAsync("admin", Password))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("krever en andre faktor", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Redirect, (await admin.Http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await admin.LoginAsync("admin", "wrong password")).StatusCode); // no hint without the password

        using var kari = new Browser(centre.BaseUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await CodeAsync(kari, await PasswordStepAsync(kari), AppCode(secret, clock))).StatusCode);
    }
}
