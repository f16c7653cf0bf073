using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// Issue 18, the web side of the handling between accept and close. In the console (behind login, forms CSRF-checked,
/// each post audited): the alarm's page, its live part, logging a call and dispatching a team. For the team, without a
/// console login: the page its link opens (<c>/d/{token}</c>) and the posts that mark its steps. The token is the only
/// key to that page: it is random (256 bits), the store keeps only its hash, it ends when the alarm is closed, and it
/// never reaches the audit log (the dispatch's id does).
/// </summary>
public static class HandlingEndpoints
{
    /// <summary>The audit trail records these instead of the route's values and the user's name (see <see cref="AuditTrail"/>).</summary>
    public const string AuditTargetItem = "audit.target";
    public const string AuditActorItem = "audit.actor";

    public static void Map(WebApplication app, RouteGroupBuilder console)
    {
        console.MapGet("/alarms/{gateway}/{id}", async (string gateway, string id, HttpContext ctx, ICentreStore store) =>
        {
            if (ConsoleEndpoints.AlarmKeyFromPath(ctx, gateway) is not { } key || await store.GetAlarmAsync(key, ctx.RequestAborted) is not { } alarm)
            {
                return Results.NotFound();
            }

            return ConsoleEndpoints.HtmlResult(await AlarmPageAsync(ctx, store, alarm, null, false));
        });

        console.MapGet("/alarms/{gateway}/{id}/handling", async (string gateway, string id, HttpContext ctx, ICentreStore store) =>
        {
            if (ConsoleEndpoints.AlarmKeyFromPath(ctx, gateway) is not { } key || await store.GetAlarmAsync(key, ctx.RequestAborted) is not { } alarm)
            {
                return Results.NotFound();
            }

            var p = await ConsoleEndpoints.UserPageAsync(ctx, store);
            return ConsoleEndpoints.HtmlResult(HandlingPages.Live(p, alarm, await store.HandlingAsync(key, ctx.RequestAborted), await store.DispatchesAsync(key, ctx.RequestAborted)));
        });

        console.MapPost("/alarms/{gateway}/{id}/call", async (string gateway, string id, HttpContext ctx, CentreCore core, ICentreStore store) =>
        {
            if (ConsoleEndpoints.AlarmKeyFromPath(ctx, gateway) is not { } key)
            {
                return ConsoleEndpoints.Refused($"'{DateRange.Shorten(gateway)}' is not a gateway id.");
            }

            var form = await ctx.Request.ReadFormAsync();
            var toWhom = form["toWhom"].ToString().Trim();
            var outcome = form["outcome"].ToString();
            var text = form["text"].ToString();
            if (OneLine("toWhom", toWhom, ConsoleEndpoints.MaxLabelLength, required: true) is { } bad)
            {
                return ConsoleEndpoints.Refused(bad);
            }

            if (!CallOutcome.IsValid(outcome))
            {
                return ConsoleEndpoints.Refused($"outcome: '{DateRange.Shorten(outcome)}' is not one of {string.Join(", ", CallOutcome.All)}.");
            }

            if (text.Length > ConsoleEndpoints.MaxStepTextLength)
            {
                return ConsoleEndpoints.Refused($"text: {text.Length} characters; a call's text holds at most {ConsoleEndpoints.MaxStepTextLength}.");
            }

            var user = await ConsoleEndpoints.CurrentUserAsync(ctx, store);
            return await AfterAsync(ctx, store, key, await core.LogCallAsync(key, user, toWhom, outcome, text, ctx.RequestAborted));
        }).AddEndpointFilter(ConsoleEndpoints.ValidateCsrf);

        console.MapPost("/alarms/{gateway}/{id}/dispatch", async (string gateway, string id, HttpContext ctx, CentreCore core, ICentreStore store, CentreSettings settings) =>
        {
            if (ConsoleEndpoints.AlarmKeyFromPath(ctx, gateway) is not { } key)
            {
                return ConsoleEndpoints.Refused($"'{DateRange.Shorten(gateway)}' is not a gateway id.");
            }

            var team = (await ctx.Request.ReadFormAsync())["team"].ToString().Trim();
            if (OneLine("team", team, ConsoleEndpoints.MaxLabelLength, required: true) is { } bad)
            {
                return ConsoleEndpoints.Refused(bad);
            }

            var user = await ConsoleEndpoints.CurrentUserAsync(ctx, store);
            var (result, made) = await core.DispatchAsync(key, user, team, ctx.RequestAborted);
            if (made is null)
            {
                return await AfterAsync(ctx, store, key, result);
            }

            ctx.Items[AuditTargetItem] = $"gateway={key.GatewayId} id={DateRange.Shorten(key.AlarmId)} dispatch={made.Dispatch.DispatchId}";
            // Shown once, on this answer: the store cannot give the token again. No caching of a page that holds it.
            ctx.Response.Headers.CacheControl = "no-store";
            var baseUrl = (settings.Dispatch.BaseUrl is { Length: > 0 } b ? b : $"{ctx.Request.Scheme}://{ctx.Request.Host}").TrimEnd('/');
            var link = new DispatchLink(made.Dispatch.Team, $"{baseUrl}/d/{made.Token}", made.Dispatch.ExpiresAt);
            var alarm = (await store.GetAlarmAsync(key, ctx.RequestAborted))!;
            return ConsoleEndpoints.HtmlResult(await AlarmPageAsync(ctx, store, alarm, link, false));
        }).AddEndpointFilter(ConsoleEndpoints.ValidateCsrf);

        // The team's page: no console login (the link's token is the key), Bokmål unless the phone chose English.
        app.MapGet("/d/{token}", async (string token, HttpContext ctx, CentreCore core, ICentreStore store, string? lang) =>
        {
            ctx.Response.Headers.CacheControl = "no-store";
            if (lang is not null)
            {
                SetLang(ctx, lang);
            }

            var p = ConsoleEndpoints.Page(ctx, null, lang);
            if (await core.OpenDispatchAsync(token, ctx.RequestAborted) is not { } dispatch || await store.GetAlarmAsync(dispatch.Key, ctx.RequestAborted) is not { } alarm)
            {
                ctx.Items[AuditTargetItem] = "(a link that does not work)";
                return ConsoleEndpoints.HtmlResult(HandlingPages.MobileGone(p), StatusCodes.Status404NotFound);
            }

            Audit(ctx, dispatch);
            var home = await store.GetGatewayAsync(dispatch.GatewayId, ctx.RequestAborted);
            var steps = (await store.HandlingAsync(dispatch.Key, ctx.RequestAborted)).Where(s => s.DispatchId == dispatch.DispatchId && s.Kind != HandlingKind.Dispatch).ToList();
            var record = (await ctx.RequestServices.GetRequiredService<Homes.HomeRecords>().ForListAsync([dispatch.GatewayId], ctx.RequestAborted)).GetValueOrDefault(dispatch.GatewayId);
            return ConsoleEndpoints.HtmlResult(HandlingPages.Mobile(p, token, alarm, home, dispatch, steps, record));
        }).AllowAnonymous();

        app.MapPost("/d/{token}/step", async (string token, HttpContext ctx, CentreCore core) =>
        {
            var kind = (await ctx.Request.ReadFormAsync())["kind"].ToString();
            if (await core.OpenDispatchAsync(token, ctx.RequestAborted) is not { } dispatch)
            {
                ctx.Items[AuditTargetItem] = "(a link that does not work)";
                return ConsoleEndpoints.HtmlResult(HandlingPages.MobileGone(ConsoleEndpoints.Page(ctx, null)), StatusCodes.Status404NotFound);
            }

            Audit(ctx, dispatch, kind);
            if (!HandlingKind.TeamSteps.Contains(kind, StringComparer.Ordinal))
            {
                return ConsoleEndpoints.Refused($"kind: '{DateRange.Shorten(kind)}' is not one of {string.Join(", ", HandlingKind.TeamSteps)}.");
            }

            // A step marked already (a double tap, two phones of one team) is no error: the page shows it marked.
            await core.TeamStepAsync(dispatch, kind, ctx.RequestAborted);
            return Results.Redirect($"/d/{Uri.EscapeDataString(token)}");
        }).AllowAnonymous().AddEndpointFilter(ConsoleEndpoints.ValidateCsrf);
    }

    private static void Audit(HttpContext ctx, DispatchRecord dispatch, string? kind = null)
    {
        ctx.Items[AuditTargetItem] = $"gateway={dispatch.GatewayId} id={DateRange.Shorten(dispatch.AlarmId)} dispatch={dispatch.DispatchId}" + (kind is null ? "" : $" kind={DateRange.Shorten(kind)}");
        ctx.Items[AuditActorItem] = "team: " + DateRange.Shorten(dispatch.Team);
    }

    private static async Task<IResult> AfterAsync(HttpContext ctx, ICentreStore store, AlarmKey key, OperatorResult result)
    {
        if (result == OperatorResult.NotFound || await store.GetAlarmAsync(key, ctx.RequestAborted) is not { } alarm)
        {
            return Results.NotFound();
        }

        // Not in hand (not accepted yet, or closed meanwhile): the page again, saying so, as a conflict.
        return result == OperatorResult.NotInHand
            ? ConsoleEndpoints.HtmlResult(await AlarmPageAsync(ctx, store, alarm, null, true), StatusCodes.Status409Conflict)
            : Results.Redirect(ConsoleEndpoints.AlarmPath(alarm));
    }

    private static async Task<string> AlarmPageAsync(HttpContext ctx, ICentreStore store, StoredAlarm alarm, DispatchLink? link, bool notInHand)
    {
        var p = await ConsoleEndpoints.UserPageAsync(ctx, store);
        var home = await store.GetGatewayAsync(alarm.GatewayId, ctx.RequestAborted);
        var record = (await ctx.RequestServices.GetRequiredService<Homes.HomeRecords>().ForListAsync([alarm.GatewayId], ctx.RequestAborted)).GetValueOrDefault(alarm.GatewayId);
        return HandlingPages.AlarmPage(p, alarm, home, await store.HandlingAsync(alarm.Key, ctx.RequestAborted), await store.DispatchesAsync(alarm.Key, ctx.RequestAborted), link, notInHand, record);
    }

    /// <summary>A sentence naming what is wrong with a one-line field, or null when it is fine.</summary>
    private static string? OneLine(string name, string value, int max, bool required) =>
        required && value.Length == 0 ? $"{name}: required."
        : value.Length > max ? $"{name}: {value.Length} characters; at most {max} on one line."
        : value.Any(char.IsControl) ? $"{name}: one line, without control characters."
        : null;

    private static void SetLang(HttpContext ctx, string lang) =>
        ctx.Response.Cookies.Append(ConsoleEndpoints.LangCookie, Texts.Normalize(lang), new CookieOptions { HttpOnly = true, Secure = ctx.Request.IsHttps, SameSite = SameSiteMode.Strict, MaxAge = TimeSpan.FromDays(365), IsEssential = true });
}
