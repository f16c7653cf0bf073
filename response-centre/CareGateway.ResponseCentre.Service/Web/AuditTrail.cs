using System.Globalization;
using CareGateway.Protocol;
using System.Text;
using CareGateway.ResponseCentre.Service.Figures;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.Routing;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// The audit log (issue 18): who did what, when, from where, and how it ended. One middleware records, after the
/// answer, every form sent to the console (logins, failed ones too, codes, logout, accept, close, labels, language)
/// and every read of a list or an export (history, exports, figures files, the audit log itself, every view of a home's resident record); the command line
/// records users and second factors. The log is append-only: the store has no way to change or delete an entry.
/// Passwords and codes are never recorded: only the name a login was tried for.
/// </summary>
public static class AuditTrail
{
    /// <summary>Reads that are recorded (the queue's own re-reads every few seconds are not).</summary>
    private static readonly string[] RecordedReads = ["/history", "/export", "/export/fhir", "/figures.csv", "/figures.json", "/audit", "/audit.csv", "/api/alarms/{gateway}/{id}", "/api/gateways", "/homes/{gateway}", "/api/homes/{gateway}", "/alarms/{gateway}/{id}", "/d/{token}"];

    public static void UseAuditTrail(WebApplication app)
    {
        app.Use(async (ctx, next) =>
        {
            // Written just before the answer goes out (the status and any redirect are known by then), so whoever sent
            // the request never sees its answer before its audit line is stored.
            ctx.Response.OnStarting(() => RecordAsync(ctx));
            await next();
        });
    }

    private static async Task RecordAsync(HttpContext ctx)
    {
        if (ActionOf(ctx) is not { } action)
        {
            return;
        }

        var entry = new AuditEntry
        {
            AuditId = Guid.CreateVersion7().ToString(),
            At = ctx.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow(),
            Actor = ctx.User.Identity?.Name ?? ctx.Items[HandlingEndpoints.AuditActorItem] as string ?? AttemptedName(ctx) ?? "",
            Action = action,
            Target = TargetOf(ctx),
            Outcome = Outcome(ctx),
            Address = ctx.Connection.RemoteIpAddress?.ToString(),
        };
        await SaveAsync(ctx.RequestServices.GetRequiredService<ICentreStore>(), entry, ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("audit"));
    }

    /// <summary>Records an entry; a failure to record is logged (the action has happened already and is not undone).</summary>
    public static async Task SaveAsync(ICentreStore store, AuditEntry entry, ILogger log)
    {
        try
        {
            await store.AddAuditAsync(entry, CancellationToken.None);
        }
#pragma warning disable CA1031 // the audit must not turn a done action into an error page
        catch (Exception ex)
#pragma warning restore CA1031
        {
            log.LogError(ex, "Could not write the audit entry {Action} by {Actor}", entry.Action, LogText.Escape(entry.Actor));
        }
    }

    /// <summary>An entry for something done on the command line (no address: the machine itself).</summary>
    public static AuditEntry CommandLine(string action, string target, DateTimeOffset at) => new()
    {
        AuditId = Guid.CreateVersion7().ToString(),
        At = at,
        Actor = "(command line)",
        Action = action,
        Target = target,
        Outcome = "ok",
    };

    /// <summary>"POST /alarms/{gateway}/{id}/accept", or null for what is not recorded.</summary>
    private static string? ActionOf(HttpContext ctx)
    {
        var pattern = (ctx.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        if (pattern is null)
        {
            return null;
        }

        pattern = pattern.StartsWith('/') ? pattern : "/" + pattern;
        return HttpMethods.IsPost(ctx.Request.Method) ? "POST " + pattern
            : HttpMethods.IsGet(ctx.Request.Method) && RecordedReads.Contains(pattern, StringComparer.Ordinal) ? "GET " + pattern
            : null;
    }

    /// <summary>The route's values (gateway, id) and the query (a date range), shortened: what was acted on or read.</summary>
    private static string? TargetOf(HttpContext ctx)
    {
        // An endpoint may name its target itself: a team's link is recorded by its dispatch, never by its token.
        if (ctx.Items[HandlingEndpoints.AuditTargetItem] is string named)
        {
            return named;
        }

        var parts = ctx.Request.RouteValues.Where(kv => kv.Value is string && kv.Key != "token").Select(kv => $"{kv.Key}={kv.Value}").ToList();
        if (ctx.Request.QueryString.HasValue)
        {
            parts.Add(ctx.Request.QueryString.Value!.TrimStart('?'));
        }

        return parts.Count == 0 ? null : DateRange.Shorten(string.Join(" ", parts));
    }

    /// <summary>The name a login was tried for (read from the form the login endpoint has read already).</summary>
    private static string? AttemptedName(HttpContext ctx) =>
        ctx.Request.HasFormContentType && ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IFormFeature>()?.Form is { } form
            && form["username"].ToString() is { Length: > 0 } name
            ? DateRange.Shorten(name)
            : null;

    private static string Outcome(HttpContext ctx) =>
        ctx.Response.StatusCode is 302 && ctx.Response.Headers.Location.ToString().Contains("/login?ReturnUrl", StringComparison.OrdinalIgnoreCase)
            ? "refused (not allowed: sent to the login page)"
            : Outcome(ctx.Response.StatusCode);

    private static string Outcome(int status) => status switch
    {
        < 400 => "ok",
        401 => "refused (401: not signed in or wrong password or code)",
        403 => "refused (403)",
        429 => "refused (429: too many tries)",
        _ => string.Create(CultureInfo.InvariantCulture, $"refused ({status})"),
    };

    /// <summary>The admin's page of the log: newest first, in the chosen range.</summary>
    public static string Page(PageContext p, IReadOnlyList<AuditEntry> entries, DateTimeOffset from, DateTimeOffset to, string query)
    {
        var rows = new StringBuilder();
        foreach (var e in entries)
        {
            rows.Append(CultureInfo.InvariantCulture, $"<tr><td>{Html.E(p.Local(e.At))}</td><td>{Html.E(e.Actor)}</td><td>{Html.E(e.Action)}</td><td>{Html.E(e.Target)}</td><td>{Html.E(e.Outcome)}</td><td>{Html.E(e.Address)}</td></tr>");
        }

        return Html.Layout(p, "audit", p.T("audit"), $"""
            {Pages.PeriodForm(p, "/audit", from, to, "")}
            <p class="downloads">{Html.E(p.T("download"))}: <a href="/audit.csv{Html.E(query)}">CSV</a></p>
            <table>
              <thead><tr><th>{Html.E(p.T("audit.at"))}</th><th>{Html.E(p.T("audit.actor"))}</th><th>{Html.E(p.T("audit.action"))}</th><th>{Html.E(p.T("audit.target"))}</th><th>{Html.E(p.T("audit.outcome"))}</th><th>{Html.E(p.T("audit.address"))}</th></tr></thead>
              <tbody>{(entries.Count == 0 ? $"<tr><td colspan=\"6\">{Html.E(p.T("none"))}</td></tr>" : rows.ToString())}</tbody>
            </table>
            """);
    }

    public static string Csv(IReadOnlyList<AuditEntry> entries)
    {
        var sb = new StringBuilder("at,actor,action,target,outcome,address\n");
        foreach (var e in entries)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{e.At:yyyy-MM-ddTHH:mm:ss.fffzzz},{QualityFigures.CsvCell(e.Actor)},{QualityFigures.CsvCell(e.Action)},{QualityFigures.CsvCell(e.Target ?? "")},{QualityFigures.CsvCell(e.Outcome)},{QualityFigures.CsvCell(e.Address ?? "")}\n");
        }

        return sb.ToString();
    }
}
