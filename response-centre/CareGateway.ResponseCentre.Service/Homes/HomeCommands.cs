using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.ResponseCentre.Service.Web;
using static CareGateway.ResponseCentre.Service.Web.Html;

namespace CareGateway.ResponseCentre.Service.Homes;

/// <summary>
/// Acting on a home's gateway from its page: a test alarm, away/home, visitor, diagnostics (everyone signed in), and
/// the care profile (an admin): previewed on the gateway's own recording of the last days, then sent. Each command is
/// listed with its result, live, and kept.
/// </summary>
public static class HomeCommands
{
    /// <summary>The commands any operator may send from a home's page.</summary>
    public static IReadOnlyList<string> Simple { get; } = [CommandKind.TestAlarm, CommandKind.SetAway, CommandKind.SetHome, CommandKind.SetVisitor, CommandKind.EndVisitor, CommandKind.RequestDiagnostics];

    public const int MaxProfileLength = 16 * 1024;

    /// <summary>Shown in the editor when the centre has sent this gateway no profile yet.</summary>
    public const string Template = """
        {
          "timeZone": "Europe/Oslo",
          "nightWindow": { "start": "22:00", "end": "06:00" },
          "wandering": { "enabled": true, "graceMinutes": 5 },
          "bedExit": { "enabled": true, "minInBedMinutes": 10, "maxAbsentMinutes": 5 }
        }
        """;

    public static void Map(RouteGroupBuilder console)
    {
        console.MapGet("/homes/{gateway}/commands", async (string gateway, HttpContext ctx, ICentreStore store) =>
        {
            if (!GatewayId.IsValid(gateway))
            {
                return ConsoleEndpoints.Refused($"'{DateRange.Shorten(gateway)}' is not a gateway id.");
            }

            var p = await ConsoleEndpoints.UserPageAsync(ctx, store);
            return ConsoleEndpoints.HtmlResult(List(p, await store.CommandsAsync(gateway, 20, ctx.RequestAborted)));
        });

        console.MapPost("/homes/{gateway}/commands", async (string gateway, HttpContext ctx, ICentreStore store, GatewayCommands commands) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            var command = form["command"].ToString();
            if (!GatewayId.IsValid(gateway) || !Simple.Contains(command, StringComparer.Ordinal))
            {
                return ConsoleEndpoints.Refused($"command: '{DateRange.Shorten(command)}' is not one of {string.Join(", ", Simple)}.");
            }

            var user = await ConsoleEndpoints.CurrentUserAsync(ctx, store);
            await commands.SendAsync(gateway, command, user.OperatorId, null, ctx.RequestAborted);
            return Results.Redirect(HomeEndpoints.HomePath(gateway) + "#commands");
        }).AddEndpointFilter(ConsoleEndpoints.ValidateCsrf);

        console.MapPost("/homes/{gateway}/profile", async (string gateway, HttpContext ctx, ICentreStore store, GatewayCommands commands) =>
        {
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            var action = form["action"].ToString();
            var command = action switch { "preview" => CommandKind.PreviewCareProfile, "send" => CommandKind.ReplaceCareProfile, _ => null };
            if (!GatewayId.IsValid(gateway) || command is null)
            {
                return ConsoleEndpoints.Refused($"action: '{DateRange.Shorten(action)}' is not preview or send.");
            }

            var read = ReadProfile(form["careProfile"].ToString());
            if (read is not { Error: null, Section: { } section })
            {
                return ConsoleEndpoints.Refused(read?.Error ?? "Care profile: empty.");
            }

            var user = await ConsoleEndpoints.CurrentUserAsync(ctx, store);
            await commands.SendAsync(gateway, command, user.OperatorId, section, ctx.RequestAborted);
            return Results.Redirect(HomeEndpoints.HomePath(gateway) + "#commands");
        }).RequireAuthorization(Roles.Admin).AddEndpointFilter(ConsoleEndpoints.ValidateCsrf);
    }

    /// <summary>
    /// The editor's text as a care-profile section: JSON (comments and trailing commas allowed, as in the gateway's
    /// files), an object, normalized. The gateway checks the rest and answers field by field.
    /// </summary>
    public static (JsonElement? Section, string? Error)? ReadProfile(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (text.Length > MaxProfileLength)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"Care profile: at most {MaxProfileLength} characters ({text.Length} given)."));
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            var what = e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].TrimEnd('.', ' ');
            return (null, string.Create(CultureInfo.InvariantCulture, $"Care profile, line {(e.LineNumber ?? 0) + 1}, column {(e.BytePositionInLine ?? 0) + 1}: not valid JSON ({what})."));
        }

        if (node is not JsonObject o)
        {
            return (null, "Care profile: must be one JSON object { ... }, the careProfile section of the gateway's configuration.");
        }

        // A wrapping document (a whole gateway configuration) is read for its section, as the gateway does.
        var section = o.TryGetPropertyValue("careProfile", out var inner) && inner is JsonObject ? inner : o;
        using var doc = JsonDocument.Parse(section.ToJsonString());
        return (doc.RootElement.Clone(), null);
    }

    /// <summary>The commands part of a home's page: buttons, the profile editor (admin), and the live list.</summary>
    public static string Section(PageContext p, string gatewayId, IReadOnlyList<GatewayCommandRecord> recent)
    {
        var path = HomeEndpoints.HomePath(gatewayId);
        var buttons = string.Concat(Simple.Select(c => $"""<button name="command" value="{c}">{E(p.T("command." + c))}</button> """));
        var lastProfile = recent.FirstOrDefault(c => c.Command is CommandKind.PreviewCareProfile or CommandKind.ReplaceCareProfile) is { } last
            && JsonNode.Parse(last.Payload)?["careProfile"] is { } profile
            ? profile.ToJsonString(new JsonSerializerOptions { WriteIndented = true })
            : Template;
        var editor = p.IsAdmin ? $"""
            <form method="post" action="{E(path)}/profile" class="card profile-form">{p.Csrf}
              <label>{E(p.T("profile.editor"))}<textarea name="careProfile" rows="12" spellcheck="false" maxlength="{MaxProfileLength}">{E(lastProfile)}</textarea></label>
              <p><small>{E(p.T("profile.help"))}</small></p>
              <button name="action" value="preview">{E(p.T("profile.preview"))}</button>
              <button name="action" value="send" class="primary">{E(p.T("profile.send"))}</button>
            </form>
            """ : "";
        return $"""
            <h2 id="commands">{E(p.T("commands"))}</h2>
            <form method="post" action="{E(path)}/commands" class="inline commands">{p.Csrf}{buttons}</form>
            {editor}
            <div id="command-list" data-live-src="{E(path)}/commands">{List(p, recent)}</div>
            """;
    }

    /// <summary>The latest commands with their results; a preview's alarms and diagnostics in full.</summary>
    public static string List(PageContext p, IReadOnlyList<GatewayCommandRecord> commands)
    {
        if (commands.Count == 0)
        {
            return $"<p>{E(p.T("commands.none"))}</p>";
        }

        var sb = new StringBuilder("<table class=\"commands\"><thead><tr>");
        sb.Append(CultureInfo.InvariantCulture, $"<th>{E(p.T("command.at"))}</th><th>{E(p.T("command"))}</th><th>{E(p.T("command.by"))}</th><th>{E(p.T("status"))}</th><th>{E(p.T("command.result"))}</th></tr></thead><tbody>");
        foreach (var c in commands)
        {
            var status = c.Status ?? "waiting";
            sb.Append(CultureInfo.InvariantCulture, $"""<tr data-command-id="{E(c.CommandId)}" class="command-{E(status)}"><td>{E(p.Local(c.CreatedAt))}</td><td>{E(p.T("command." + c.Command))}</td><td>{E(c.By)}</td><td>{E(p.T("command.status." + status))}</td><td>{E(c.Reason)}{Details(p, c)}</td></tr>""");
        }

        return sb.Append("</tbody></table>").ToString();
    }

    private static string Details(PageContext p, GatewayCommandRecord c)
    {
        if (c.Result is null || !CommandJson.TryParseResult(Encoding.UTF8.GetBytes(c.Result), out var result, out _))
        {
            return "";
        }

        if (result.Preview is { } preview)
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"preview-summary\">{E(string.Format(CultureInfo.InvariantCulture, p.T("preview.summary"), p.Local(preview.From, "yyyy-MM-dd HH:mm"), p.Local(preview.Until, "yyyy-MM-dd HH:mm"), preview.Events, preview.AlarmCount))}</p>");
            if (preview.Alarms.Count > 0)
            {
                sb.Append("<ol class=\"preview\">");
                foreach (var a in preview.Alarms)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<li data-type=\"{E(a.Type)}\">{E(p.Local(a.At, "ddd dd.MM HH:mm"))} <strong>{E(Texts.Value(p.Lang, "type", a.Type))}</strong> {E(Texts.Value(p.Lang, "room", a.Room))}{(a.Cancelled ? $" <small>({E(p.T("preview.cancelled"))})</small>" : "")}<br><small>{E(a.Reason)}</small></li>");
                }

                sb.Append("</ol>");
            }

            return sb.ToString();
        }

        if (result.Diagnostics is { } d)
        {
            return string.Create(CultureInfo.InvariantCulture, $"<dl class=\"diagnostics\"><dt>{E(p.T("diag.uptime"))}</dt><dd>{E(Duration(TimeSpan.FromSeconds(d.UptimeSeconds)))}</dd><dt>{E(p.T("pending"))}</dt><dd>{d.PendingAlarms}</dd><dt>{E(p.T("diag.lastseq"))}</dt><dd>{d.LastSeq}</dd><dt>{E(p.T("diag.connection"))}</dt><dd>{E(d.Connection)} ({E(d.Transport)})</dd><dt>{E(p.T("software"))}</dt><dd>{E(d.SoftwareVersion)}</dd><dt>{E(p.T("diag.sensors"))}</dt><dd>{d.SensorCount}</dd></dl>");
        }

        return "";
    }
}
