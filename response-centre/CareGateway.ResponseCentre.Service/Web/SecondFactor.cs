using System.Globalization;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.DataProtection;
using OtpNet;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// The console's second factor (issue 19 finding 14): a TOTP code (RFC 6238: 6 digits, 30 s steps, HMAC-SHA1, which
/// every authenticator app reads) after the password, for every user with a secret enrolled by
/// <c>response-centre enrol-totp NAME</c>. A right password alone then signs nobody in: it gives a code page carrying
/// a ticket (protected by Data Protection under its own purpose, valid <see cref="TicketLifetime"/> on the centre's
/// <see cref="TimeProvider"/>) that names the user and the security stamp; <c>POST /login/code</c> checks the code
/// (one step either side, for clocks a little apart), refuses a step at or before the last one used (a replay; the
/// store advances it atomically), and signs in through <see cref="ConsoleEndpoints.SignInAsync"/>, the same path as
/// a password login. Every code try counts in the <see cref="LoginThrottle"/> like a password try.
/// </summary>
public static class SecondFactor
{
    public const string Issuer = "Care response centre";

    public const int SecretBytes = 20;

    public const int Digits = 6;

    public static readonly TimeSpan TicketLifetime = TimeSpan.FromMinutes(5);

    /// <summary>Longest ticket and code the code form takes (a ticket is a few hundred characters).</summary>
    public const int MaxTicketLength = 2048;

    private const string TicketPurpose = "CareGateway.ResponseCentre.SecondFactor.LoginTicket.v1";

    /// <summary>A fresh secret (20 random bytes, the RFC's size for HMAC-SHA1), in Base32 as authenticator apps take it.</summary>
    public static string NewSecret() => Base32Encoding.ToString(KeyGeneration.GenerateRandomKey(SecretBytes));

    /// <summary>The <c>otpauth://totp/...</c> address an authenticator app reads (from a QR code or pasted).</summary>
    public static string EnrolmentUri(string userName, string secret) =>
        new OtpUri(OtpType.Totp, secret, userName, Issuer, OtpHashMode.Sha1, Digits, 30).ToString();

    /// <summary>The code of <paramref name="secret"/> at <paramref name="at"/> (for tests and tools).</summary>
    public static string Code(string secret, DateTimeOffset at) => new Totp(Base32Encoding.ToBytes(secret)).ComputeTotp(at.UtcDateTime);

    /// <summary>
    /// True when <paramref name="code"/> (six digits; spaces are ignored) is the secret's code at <paramref name="now"/>
    /// or one step before or after; <paramref name="step"/> is then the step it belongs to.
    /// </summary>
    public static bool Verify(string secret, string code, DateTimeOffset now, out long step)
    {
        step = 0;
        var digits = code.Replace(" ", "", StringComparison.Ordinal);
        if (digits.Length != Digits || !digits.All(char.IsAsciiDigit))
        {
            return false;
        }

        return new Totp(Base32Encoding.ToBytes(secret)).VerifyTotp(now.UtcDateTime, digits, out step, new VerificationWindow(previous: 1, future: 1));
    }

    /// <summary>
    /// After a right password: null when the user may be signed in now; otherwise the answer (the code page, or the
    /// login page saying that this centre requires a second factor the user has not got).
    /// </summary>
    internal static IResult? AfterPassword(HttpContext ctx, CentreUser user, string returnUrl)
    {
        var services = ctx.RequestServices;
        if (user.TotpSecret is null)
        {
            return services.GetRequiredService<CentreSettings>().Web.RequireSecondFactor
                ? ConsoleEndpoints.HtmlResult(Pages.Login(ConsoleEndpoints.Page(ctx, null), false, returnUrl, "login.enrol"), StatusCodes.Status403Forbidden)
                : null;
        }

        var expires = services.GetRequiredService<TimeProvider>().GetUtcNow() + TicketLifetime;
        var ticket = Protector(services).Protect(WriteTicket(new Ticket(user.UserName, user.SecurityStamp, expires, returnUrl)));
        return ConsoleEndpoints.HtmlResult(Pages.LoginCode(ConsoleEndpoints.Page(ctx, null), ticket, false));
    }

    /// <summary><c>POST /login/code</c>: the ticket from the code page and the code.</summary>
    internal static async Task<IResult> CodeAsync(HttpContext ctx, ICentreStore store, LoginThrottle throttle, TimeProvider time)
    {
        var form = await ctx.Request.ReadFormAsync();
        var ticketText = form["ticket"].ToString();
        var code = form["code"].ToString();
        if (ticketText.Length > MaxTicketLength || code.Length > 32)
        {
            return ConsoleEndpoints.HtmlResult(Pages.Login(ConsoleEndpoints.Page(ctx, null), true, null), StatusCodes.Status400BadRequest);
        }

        var now = time.GetUtcNow();
        if (ReadTicket(Protector(ctx.RequestServices), ticketText) is not { } ticket || ticket.Expires <= now)
        {
            return Expired(ctx, null);
        }

        if (throttle.TryBegin(ticket.UserName, ctx.Connection.RemoteIpAddress?.ToString() ?? "") is { } wait)
        {
            ctx.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return ConsoleEndpoints.HtmlResult(Pages.LoginCode(ConsoleEndpoints.Page(ctx, null), ticketText, true), StatusCodes.Status429TooManyRequests);
        }

        // The user as she is now: a password reset (a new stamp) or a removed second factor since the password step
        // ends the ticket.
        var user = await store.FindUserAsync(ticket.UserName, ctx.RequestAborted);
        if (user is not { TotpSecret: { } secret } || user.SecurityStamp != ticket.Stamp)
        {
            return Expired(ctx, ticket.ReturnUrl);
        }

        if (!Verify(secret, code, now, out var step) || step <= user.TotpLastStep
            || !await store.TryAdvanceTotpStepAsync(user.UserName, step, ctx.RequestAborted))
        {
            return ConsoleEndpoints.HtmlResult(Pages.LoginCode(ConsoleEndpoints.Page(ctx, null), ticketText, true), StatusCodes.Status401Unauthorized);
        }

        return await ConsoleEndpoints.SignInAsync(ctx, user with { TotpLastStep = step }, ticket.ReturnUrl);
    }

    private static IResult Expired(HttpContext ctx, string? returnUrl) =>
        ConsoleEndpoints.HtmlResult(Pages.Login(ConsoleEndpoints.Page(ctx, null), false, returnUrl, "login.code.expired"), StatusCodes.Status401Unauthorized);

    private static IDataProtector Protector(IServiceProvider services) =>
        services.GetRequiredService<IDataProtectionProvider>().CreateProtector(TicketPurpose);

    private sealed record Ticket(string UserName, string Stamp, DateTimeOffset Expires, string ReturnUrl);

    private static string WriteTicket(Ticket t) =>
        string.Join('\n', Uri.EscapeDataString(t.UserName), Uri.EscapeDataString(t.Stamp), t.Expires.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), Uri.EscapeDataString(t.ReturnUrl));

    /// <summary>The ticket, or null when it is not one this service made (altered, from another key ring, or not a ticket).</summary>
    private static Ticket? ReadTicket(IDataProtector protector, string text)
    {
        string plain;
        try
        {
            plain = protector.Unprotect(text);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
        catch (FormatException)
        {
            return null;
        }

        var parts = plain.Split('\n');
        return parts.Length == 4 && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? new Ticket(Uri.UnescapeDataString(parts[0]), Uri.UnescapeDataString(parts[1]), DateTimeOffset.FromUnixTimeMilliseconds(ms), Uri.UnescapeDataString(parts[3]))
            : null;
    }
}
