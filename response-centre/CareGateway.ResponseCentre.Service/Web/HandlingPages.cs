using System.Globalization;
using System.Text;
using CareGateway.ResponseCentre.Service.Storage;
using static CareGateway.ResponseCentre.Service.Web.Html;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// Issue 18: the console's page of one alarm with its handling log and the forms to log a call and dispatch a team,
/// and the team's mobile page (phone-sized, no script, Bokmål by default) opened from the link it was sent.
/// </summary>
public static class HandlingPages
{
    /// <summary>The console's page of one alarm. <paramref name="newLink"/> is a dispatch's link, shown once right after it was made.</summary>
    public static string AlarmPage(PageContext p, StoredAlarm a, GatewayRecord? home, IReadOnlyList<HandlingStep> steps, IReadOnlyList<DispatchRecord> dispatches, DispatchLink? newLink = null, bool notInHand = false, Homes.HomeRecord? record = null)
    {
        var inHand = a.Status == HandlingStatus.Accepted;
        var forms = a.Status switch
        {
            HandlingStatus.Received => $"""<form method="post" action="{E(ConsoleEndpoints.AlarmAction(a, "accept"))}">{p.Csrf}<button class="primary accept">{E(p.T("accept"))}</button></form>""",
            HandlingStatus.Accepted => $"""
                <div class="handling-forms">
                  <form method="post" action="{E(ConsoleEndpoints.AlarmAction(a, "call"))}" class="card call-form">{p.Csrf}
                    <h2>{E(p.T("handling.call"))}</h2>
                    <label>{E(p.T("handling.to-whom"))}<input name="toWhom" required maxlength="{ConsoleEndpoints.MaxLabelLength}"></label>
                    <label>{E(p.T("outcome"))}<select name="outcome">{string.Concat(CallOutcome.All.Select(o => $"<option value=\"{o}\">{E(p.T("call." + o))}</option>"))}</select></label>
                    <label>{E(p.T("handling.text"))}<input name="text" maxlength="{ConsoleEndpoints.MaxStepTextLength}"></label>
                    <button class="primary">{E(p.T("handling.save-call"))}</button>
                  </form>
                  <form method="post" action="{E(ConsoleEndpoints.AlarmAction(a, "dispatch"))}" class="card dispatch-form">{p.Csrf}
                    <h2>{E(p.T("handling.dispatch"))}</h2>
                    <label>{E(p.T("handling.team"))}<input name="team" required maxlength="{ConsoleEndpoints.MaxLabelLength}"></label>
                    <button class="primary">{E(p.T("handling.send"))}</button>
                  </form>
                  <form method="post" action="{E(ConsoleEndpoints.AlarmAction(a, "close"))}" class="card close-form">{p.Csrf}
                    <h2>{E(p.T("close"))}</h2>
                    <input name="note" placeholder="{E(p.T("note"))}" aria-label="{E(p.T("note"))}" maxlength="{ConsoleEndpoints.MaxNoteLength}">
                    <select name="outcome" aria-label="{E(p.T("outcome"))}">{string.Concat(CloseOutcome.All.Select(o => $"<option value=\"{o}\">{E(p.T("outcome." + o))}</option>"))}</select>
                    <button class="close">{E(p.T("close"))}</button>
                  </form>
                </div>
                """,
            _ => "",
        };
        var link = newLink is { } l ? $"""
            <section class="card dispatch-link" role="status">
              <p><strong>{E(l.Team)}</strong> · {E(p.T("handling.link"))}</p>
              <input id="dispatch-link" readonly value="{E(l.Url)}" aria-label="{E(p.T("handling.link"))}">
              <p><a href="{E(l.Url)}" target="_blank" rel="noopener noreferrer">{E(l.Url)}</a></p>
              <p class="muted">{E(string.Format(CultureInfo.InvariantCulture, p.T("handling.link.expires"), p.Local(l.ExpiresAt, "dd.MM HH:mm")))}</p>
            </section>
            """ : "";
        var path = ConsoleEndpoints.AlarmAction(a, "handling");
        return Layout(p, "queue", $"{p.T("alarm")}: {Texts.Value(p.Lang, "type", a.Type)}", $"""
            <p><a href="/">{E(p.T("alarm.back"))}</a></p>
            {(notInHand ? $"<p class=\"error\" role=\"alert\">{E(p.T("handling.not-in-hand"))}</p>" : "")}
            <section class="card alarm-detail" data-alarm-id="{E(a.AlarmId)}" data-gateway="{E(a.GatewayId)}">
              <dl>
                <dt>{E(p.T("priority"))}</dt><dd>{PriorityBadge(p, a.Priority)}</dd>
                <dt>{E(p.T("home"))}</dt><dd>{(record is { IsUnreadable: false, Residents.Count: > 0 } r ? $"<strong class=\"resident\">{E(r.Names)}</strong> <small>{E(r.Address)}</small><br>" : "")}<strong>{E(home?.Label ?? a.GatewayId)}</strong>{(home?.Label is null ? "" : $" <small>{E(a.GatewayId)}</small>")} <small><a href="{E(Homes.HomeEndpoints.HomePath(a.GatewayId))}">{E(p.T("home.open"))}</a></small></dd>
                <dt>{E(p.T("room"))}</dt><dd>{E(Texts.Value(p.Lang, "room", a.Room))}</dd>
                <dt>{E(p.T("raised"))}</dt><dd>{E(p.Local(a.RaisedAt))}</dd>
                <dt>{E(p.T("reason"))}</dt><dd>{E(a.Reason)}</dd>
              </dl>
              {(record is null ? "" : Homes.HomePages.AlarmCard(p, record, accepted: a.Status != HandlingStatus.Received))}
            </section>
            {link}
            <h2>{E(p.T("handling"))}</h2>
            <div id="alarm-live" data-live-src="{E(path)}" aria-live="polite">{Live(p, a, steps, dispatches)}</div>
            {(inHand || a.Status == HandlingStatus.Received ? forms : "")}
            """);
    }

    /// <summary>The part of the alarm page the script re-reads on every server-sent event: the status and the log.</summary>
    public static string Live(PageContext p, StoredAlarm a, IReadOnlyList<HandlingStep> steps, IReadOnlyList<DispatchRecord> dispatches)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"alarm-status\" data-status=\"{a.Status.ToString().ToLowerInvariant()}\">{E(p.T("status"))}: <strong>{E(StatusText(p, a))}</strong>");
        if (a.AcceptedBy is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $" · {E(p.T("accepted"))} {E(p.Local(a.AcceptedAt, "HH:mm:ss"))} <small>{E(a.AcceptedBy)}</small>");
        }

        if (a.ClosedAt is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $" · {E(p.T("closed"))} {E(p.Local(a.ClosedAt, "HH:mm:ss"))} <small>{E(a.ClosedBy)}</small>");
        }

        sb.Append("</p>");
        if (dispatches.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"teams\">{E(p.T("handling.team-status"))}: {E(string.Join(", ", dispatches.Select(d => d.Team)))}</p>");
        }
        sb.Append("<ol class=\"handling\" id=\"handling\">");
        if (steps.Count == 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<li class=\"empty\">{E(p.T("handling.empty"))}</li>");
        }

        foreach (var s in steps)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<li data-kind=\"{E(s.Kind)}\"><time datetime=\"{s.At.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}\">{E(p.Local(s.At, "HH:mm:ss"))}</time>{E(StepLine(p.Lang, s, null))} <small>{E(s.By)}</small></li>");
        }

        sb.Append("</ol>");
        return sb.ToString();
    }

    /// <summary>One step in words: "Ringte datter – nådd: «...»", "Sendte Hjemmetjenesten Nord", "På vei (Hjemmetjenesten Nord)".</summary>
    public static string StepLine(string lang, HandlingStep s, string? team) => s.Kind switch
    {
        HandlingKind.Call => $"{Texts.T(lang, "kind.call")} {s.ToWhom} – {Texts.Value(lang, "call", s.Outcome)}" + (s.Text is { Length: > 0 } t ? $": «{t}»" : ""),
        HandlingKind.Dispatch => $"{Texts.T(lang, "kind.dispatch")} {s.ToWhom}",
        _ => Texts.Value(lang, "kind", s.Kind) + (team is null ? "" : $" ({team})"),
    };

    /// <summary>
    /// The team's page (no referrer meta of its own: the service's <c>Referrer-Policy: same-origin</c> already keeps the
    /// link's token from other sites, and a stricter page policy would send its forms with <c>Origin: null</c>, which the
    /// CSRF check refuses). The task (what, where in the home, when), the spot for the resident's details, the steps it
    /// marked, and one large button for the next step. Nothing of the operator's (notes, calls, other alarms or homes).
    /// </summary>
    public static string Mobile(PageContext p, string token, StoredAlarm a, GatewayRecord? home, DispatchRecord d, IReadOnlyList<HandlingStep> teamSteps, Homes.HomeRecord? record = null)
    {
        var marked = teamSteps.Select(s => s.Kind).ToHashSet(StringComparer.Ordinal);
        var next = HandlingKind.TeamSteps.FirstOrDefault(k => !marked.Contains(k)
            && HandlingKind.TeamSteps.SkipWhile(x => x != k).Skip(1).All(later => !marked.Contains(later)));
        var action = $"/d/{Uri.EscapeDataString(token)}/step";
        var buttons = next is null
            ? $"<p class=\"finished\" role=\"status\">{E(p.T("mobile.finished"))}</p>"
            : string.Concat(HandlingKind.TeamSteps.SkipWhile(k => k != next).Select((k, i) =>
                $"""<form method="post" action="{E(action)}">{p.Csrf}<input type="hidden" name="kind" value="{k}"><button class="big {(i == 0 ? "next" : "later")}" data-step="{k}">{E(p.T("mobile." + k))}</button></form>"""));
        var done = new StringBuilder();
        foreach (var s in teamSteps)
        {
            done.Append(CultureInfo.InvariantCulture, $"<li data-kind=\"{E(s.Kind)}\"><time>{E(p.Local(s.At, "HH:mm"))}</time> {E(Texts.Value(p.Lang, "kind", s.Kind))}</li>");
        }

        var other = p.Lang == Texts.English ? Texts.Bokmal : Texts.English;
        return $"""
            <!DOCTYPE html>
            <html lang="{(p.Lang == Texts.English ? "en" : "nb")}">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            
            <title>{E(p.T("mobile.title"))} · {E(Texts.Value(p.Lang, "type", a.Type))}</title>
            <style>{MobileCss}</style>
            </head>
            <body class="mobile" data-lang="{p.Lang}">
            <header><strong>{E(p.T("title"))}</strong><a href="{E($"/d/{Uri.EscapeDataString(token)}?lang={other}")}">{(other == Texts.English ? "English" : "Norsk")}</a></header>
            <main>
            <h1>{PriorityBadge(p, a.Priority)} {E(Texts.Value(p.Lang, "type", a.Type))}</h1>
            <section class="task">
              <p class="team">{E(d.Team)}</p>
              <dl>
                <dt>{E(p.T("mobile.home"))}</dt><dd class="home"><strong>{E(home?.Label ?? a.GatewayId)}</strong>{(home?.Label is null ? "" : $" <small>{E(a.GatewayId)}</small>")}</dd>
                <dt>{E(p.T("room"))}</dt><dd class="room">{E(Texts.Value(p.Lang, "room", a.Room))}</dd>
                <dt>{E(p.T("raised"))}</dt><dd>{E(p.Local(a.RaisedAt, "HH:mm"))}</dd>
                <dt>{E(p.T("reason"))}</dt><dd>{E(a.Reason)}</dd>
              </dl>
            </section>
            {ResidentDetails(p, record)}
            <ol class="steps">{done}</ol>
            <div class="buttons">{buttons}</div>
            </main>
            </body>
            </html>
            """;
    }

    /// <summary>
    /// What the team needs at the door, from the home's resident record: who lives there, the address, how to get in
    /// (the key safe) and what to do. Not the national identity number, not the contacts, not the operator's notes.
    /// </summary>
    internal static string ResidentDetails(PageContext p, Homes.HomeRecord? record)
    {
        if (record is null || record.IsUnreadable || record.Residents.Count == 0)
        {
            return $"""
                <section class="resident" id="resident-details">
                  <h2>{E(p.T("mobile.resident"))}</h2>
                  <p class="muted">{E(p.T(record is { IsUnreadable: true } ? "home.unreadable.short" : "mobile.resident.none"))}</p>
                </section>
                """;
        }

        return $"""
            <section class="resident" id="resident-details">
              <h2>{E(p.T("mobile.resident"))}</h2>
              <dl>
                <dt>{E(p.T("home.name"))}</dt><dd class="resident-name">{E(record.Names)}</dd>
                <dt>{E(p.T("home.address"))}</dt><dd class="address">{E(record.Address)}</dd>
                <dt>{E(p.T("home.keysafe"))}</dt><dd class="key-safe">{E(record.KeySafe ?? "–")}</dd>
                <dt>{E(p.T("home.instructions"))}</dt><dd class="instructions">{E(record.Instructions ?? "–")}</dd>
              </dl>
            </section>
            """;
    }

    /// <summary>A link that does not (or no longer) work: no detail of which (closed, expired, wrong), nothing of the alarm.</summary>
    public static string MobileGone(PageContext p) => $"""
        <!DOCTYPE html>
        <html lang="{(p.Lang == Texts.English ? "en" : "nb")}">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{E(p.T("mobile.title"))}</title><style>{MobileCss}</style></head>
        <body class="mobile"><header><strong>{E(p.T("title"))}</strong></header>
        <main><p class="gone" role="alert">{E(p.T("mobile.gone"))}</p></main></body>
        </html>
        """;

    private const string MobileCss = """
        * { box-sizing: border-box; }
        body { margin: 0; font: 18px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f4f6f8; color: #1b2733; }
        header { display: flex; justify-content: space-between; align-items: center; padding: .7rem 1rem; background: #14283d; color: #fff; }
        header a { color: #d6e4f0; }
        main { padding: 1rem; max-width: 36rem; margin: 0 auto; }
        h1 { font-size: 1.5rem; margin: .2rem 0 1rem; }
        h2 { font-size: 1.05rem; margin: 0 0 .4rem; }
        .task, .resident { background: #fff; border: 1px solid #dde3e8; border-radius: 12px; padding: 1rem; margin-bottom: 1rem; }
        .team { font-weight: 700; margin: 0 0 .5rem; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem .9rem; margin: 0; }
        dt { color: #5f6b76; } dd { margin: 0; }
        .muted { color: #5f6b76; }
        .prio { display: inline-block; padding: .15rem .6rem; border-radius: 999px; color: #fff; font-size: .85rem; vertical-align: middle; }
        .prio-critical { background: #b3261e; } .prio-high { background: #d35400; } .prio-medium { background: #b7950b; } .prio-low { background: #4a6b82; }
        ol.steps { padding-left: 1.4rem; } ol.steps li { padding: .2rem 0; } ol.steps time { font-weight: 700; }
        .buttons { display: grid; gap: .8rem; }
        .buttons form { margin: 0; }
        button.big { width: 100%; min-height: 4rem; font: inherit; font-size: 1.3rem; font-weight: 700; border-radius: 14px; border: 0; color: #fff; background: #0b5cad; cursor: pointer; }
        button.big.later { background: #5f6b76; min-height: 3.2rem; font-size: 1.1rem; }
        .finished, .gone { background: #e6f4ea; border-radius: 12px; padding: 1rem; font-weight: 700; }
        .gone { background: #fdecea; }
        """;
}

/// <summary>A dispatch's link as shown once to the operator who made it.</summary>
public sealed record DispatchLink(string Team, string Url, DateTimeOffset ExpiresAt);
