using System.Globalization;
using System.Security.Claims;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// A console session: what its cookie carries and when it stops being valid (issue 19 finding 4). The cookie carries
/// the user's security stamp at sign-in, a random session id and the time the session began. On every request the
/// user is read from the database: a session ends when the user is gone, when the stamp no longer matches (logout,
/// a new password or a new role all give the user a new stamp, so every session of that user ends at once), or when
/// it is older than <see cref="WebSettings.SessionMaxHours"/> however active it was. The role the console acts on is
/// the database's, never the cookie's.
/// </summary>
public static class Sessions
{
    public const string StampClaim = "centre:stamp";
    public const string SessionIdClaim = "centre:sid";
    public const string BeganClaim = "centre:began";

    /// <summary>Signs the user in: the one way a console session begins (after the password and any second factor).</summary>
    public static async Task SignInAsync(HttpContext ctx, CentreUser user)
    {
        var now = ctx.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, user.UserName),
                new Claim(ClaimTypes.NameIdentifier, user.OperatorId),
                new Claim(ClaimTypes.Role, user.Role),
                new Claim(StampClaim, user.SecurityStamp),
                new Claim(SessionIdClaim, Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))),
                new Claim(BeganClaim, now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)),
            ],
            CookieAuthenticationDefaults.AuthenticationScheme);
        await ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
    }

    /// <summary>Ends every session of the signed-in user (a new stamp) and this one's cookie.</summary>
    public static async Task SignOutEverywhereAsync(HttpContext ctx, ICentreStore store)
    {
        if (ctx.User.Identity?.Name is { } name && await store.FindUserAsync(name, ctx.RequestAborted) is { } user)
        {
            await store.SaveUserAsync(user with { SecurityStamp = CentreUser.NewStamp() }, ctx.RequestAborted);
        }

        await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// The user this session belongs to, read from the database, or null when the session has ended (why: see the class).
    /// </summary>
    public static async Task<CentreUser?> CurrentUserAsync(ClaimsPrincipal principal, ICentreStore store, TimeSpan maxAge, DateTimeOffset now, CancellationToken ct)
    {
        if (principal.Identity?.Name is not { Length: > 0 } name
            || principal.FindFirstValue(StampClaim) is not { Length: > 0 } stamp
            || !long.TryParse(principal.FindFirstValue(BeganClaim), NumberStyles.None, CultureInfo.InvariantCulture, out var beganMs))
        {
            return null; // a cookie of an older version, or not ours
        }

        var began = DateTimeOffset.FromUnixTimeMilliseconds(beganMs);
        if (now - began >= maxAge || began > now + TimeSpan.FromMinutes(5))
        {
            return null;
        }

        var user = await store.FindUserAsync(name, ct);
        return user is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(user.SecurityStamp), System.Text.Encoding.UTF8.GetBytes(stamp))
            ? user
            : null;
    }

    /// <summary>The cookie handler's check on every request: ends the session or puts in the database's role.</summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var services = context.HttpContext.RequestServices;
        var settings = services.GetRequiredService<CentreSettings>();
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var user = context.Principal is { } principal
            ? await CurrentUserAsync(principal, services.GetRequiredService<ICentreStore>(), settings.Web.SessionMaxAge, now, context.HttpContext.RequestAborted)
            : null;
        if (user is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return;
        }

        // For this request only (the cookie is not rewritten): the name, operator id and role as the database has them.
        var identity = new ClaimsIdentity(
            context.Principal!.Claims.Where(c => c.Type is not (ClaimTypes.Role or ClaimTypes.NameIdentifier)).Append(new Claim(ClaimTypes.Role, user.Role)).Append(new Claim(ClaimTypes.NameIdentifier, user.OperatorId)),
            CookieAuthenticationDefaults.AuthenticationScheme);
        context.ReplacePrincipal(new ClaimsPrincipal(identity));
    }

    /// <summary>Binds every form token to the session it was issued in: a token from an earlier session is refused.</summary>
    public sealed class FormTokenBinding : IAntiforgeryAdditionalDataProvider
    {
        public string GetAdditionalData(HttpContext context) => context.User.FindFirstValue(SessionIdClaim) ?? "";

        public bool ValidateAdditionalData(HttpContext context, string additionalData) =>
            string.Equals(additionalData, GetAdditionalData(context), StringComparison.Ordinal);
    }
}
