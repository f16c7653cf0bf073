using System.Globalization;
using System.Text;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using static CareGateway.ResponseCentre.Service.Web.Html;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>The console's pages, rendered on the server.</summary>
public static class Pages
{
    /// <param name="notice">The key of a sentence shown instead of <c>login.failed</c> (an expired code page, a missing second factor).</param>
    /// <param name="wait">After too many tries: how long until the next try is let through (said on the page).</param>
    public static string Login(PageContext p, bool failed, string? returnUrl, string? notice = null, TimeSpan? wait = null) => Layout(p, "", p.T("login"), $"""
        <form method="post" action="/login" class="card login">
          {p.Csrf}
          <input type="hidden" name="returnUrl" value="{E(returnUrl)}">
          {(wait is { } w ? $"<p class=\"error\" role=\"alert\">{E(string.Format(System.Globalization.CultureInfo.InvariantCulture, p.T("login.wait"), WaitText(p, w)))}</p>" : failed || notice is not null ? $"<p class=\"error\" role=\"alert\">{E(p.T(notice ?? "login.failed"))}</p>" : "")}
          <label>{E(p.T("username"))}<input name="username" autocomplete="username" required autofocus></label>
          <label>{E(p.T("password"))}<input name="password" type="password" autocomplete="current-password" required></label>
          <button type="submit" class="primary">{E(p.T("login"))}</button>
          <p class="langs"><a href="/login?lang=nb">Norsk</a> · <a href="/login?lang=en">English</a></p>
        </form>
        """);

    /// <summary>How long a test alarm took from the home to the centre: "0.4 s", "2 min 5 s".</summary>
    private static string Took(TimeSpan? took) => took is not { } t ? "" : t < TimeSpan.FromMinutes(1)
        ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, t.TotalSeconds):0.0} s")
        : Duration(t);

    /// <summary>Past its time to be accepted and still waiting for an operator (once accepted it is no longer shown as escalated).</summary>
    private static bool Escalated(StoredAlarm a) => a.EscalatedAt is not null && a.Status == HandlingStatus.Received;

    /// <summary>A repeated alarm says so in its type cell: how many times and when the latest came.</summary>
    private static string RepeatText(PageContext p, StoredAlarm a) => a.Repeats > 0
        ? $"<br><strong class=\"repeat\">{E(string.Format(CultureInfo.InvariantCulture, p.T("repeated"), a.Repeats, p.Local(a.RepeatedAt, "HH:mm:ss")))}</strong>"
        : "";

    /// <summary>"12 sekunder" / "3 minutter": whole seconds up to two minutes, then whole minutes (rounded up).</summary>
    private static string WaitText(PageContext p, TimeSpan wait)
    {
        var seconds = (int)Math.Ceiling(Math.Max(1, wait.TotalSeconds));
        return seconds <= 120
            ? string.Format(System.Globalization.CultureInfo.InvariantCulture, p.T("login.seconds"), seconds)
            : string.Format(System.Globalization.CultureInfo.InvariantCulture, p.T("login.minutes"), (seconds + 59) / 60);
    }

    /// <summary>The second step of a login: the one-time code, with the ticket that names who gave the right password.</summary>
    public static string LoginCode(PageContext p, string ticket, bool failed) => Layout(p, "", p.T("login"), $"""
        <form method="post" action="/login/code" class="card login">
          {p.Csrf}
          <input type="hidden" name="ticket" value="{E(ticket)}">
          {(failed ? $"<p class=\"error\" role=\"alert\">{E(p.T("login.code.failed"))}</p>" : "")}
          <p>{E(p.T("login.code.help"))}</p>
          <label>{E(p.T("login.code"))}<input name="code" inputmode="numeric" pattern="[0-9 ]{"{6,7}"}" maxlength="7" autocomplete="one-time-code" required autofocus></label>
          <button type="submit" class="primary">{E(p.T("login.code.verify"))}</button>
        </form>
        """);

    public static string Queue(PageContext p, QueuePage page, IReadOnlyDictionary<string, GatewayRecord> gateways, IReadOnlyDictionary<string, Homes.HomeRecord>? homes = null) => Layout(p, "queue", p.T("queue"), $"""
        <p class="live" id="live" aria-live="polite"></p>
        <table class="queue">
          <thead><tr><th>{E(p.T("priority"))}</th><th>{E(p.T("home"))}</th><th>{E(p.T("room"))}</th><th>{E(p.T("type"))}</th><th>{E(p.T("waiting"))}</th><th>{E(p.T("status"))}</th><th>{E(p.T("reason"))}</th><th>{E(p.T("action"))}</th></tr></thead>
          <tbody id="queue" data-page="{page.Number}">{QueueRows(p, page, gateways, homes)}</tbody>
        </table>
        """);

    /// <summary>
    /// The queue's rows: critical first, then the longest waiting. Re-fetched by the script on every server-sent event.
    /// A home with a resident record shows the resident's name and address and what to do; once accepted, also how to
    /// get in and whom to call (<see cref="Homes.HomePages.AlarmCard"/>).
    /// </summary>
    public static string QueueRows(PageContext p, QueuePage page, IReadOnlyDictionary<string, GatewayRecord> gateways, IReadOnlyDictionary<string, Homes.HomeRecord>? homes = null)
    {
        if (page.Total == 0)
        {
            return $"<tr class=\"empty\"><td colspan=\"8\">{E(p.T("queue.empty"))}</td></tr>";
        }

        var sb = new StringBuilder();
        var waitingPastTime = page.Rows.Count(Escalated);
        if (waitingPastTime > 0 && Roles.IsSecondTier(p.User?.Role))
        {
            // The second tier: a supervisor's (and an admin's) queue says so above the rows.
            sb.Append(CultureInfo.InvariantCulture, $"""<tr class="escalation-banner"><td colspan="8" role="alert">{E(string.Format(CultureInfo.InvariantCulture, p.T("escalation.banner"), waitingPastTime))}</td></tr>""");
        }

        foreach (var a in page.Rows)
        {
            var label = gateways.TryGetValue(a.GatewayId, out var gw) ? gw.Label : null;
            var action = a.Status == HandlingStatus.Received
                ? $"""<form method="post" action="{E(ConsoleEndpoints.AlarmAction(a, "accept"))}">{p.Csrf}<button class="primary accept">{E(p.T("accept"))}</button></form>"""
                : $"""
                  <form method="post" action="{E(ConsoleEndpoints.AlarmAction(a, "close"))}" class="close-form">{p.Csrf}
                    <input name="note" placeholder="{E(p.T("note"))}" aria-label="{E(p.T("note"))}" maxlength="{ConsoleEndpoints.MaxNoteLength}">
                    <select name="outcome" aria-label="{E(p.T("outcome"))}">{string.Concat(CloseOutcome.All.Select(o => $"<option value=\"{o}\">{E(p.T("outcome." + o))}</option>"))}</select>
                    <button class="close">{E(p.T("close"))}</button>
                  </form>
                  """;
            var raisedMs = a.RaisedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"""
                <tr data-alarm-id="{E(a.AlarmId)}" data-gateway="{E(a.GatewayId)}" data-key="{E(a.GatewayId + "/" + a.AlarmId + "#" + a.Repeats.ToString(CultureInfo.InvariantCulture) + (Escalated(a) ? "#escalated" : ""))}" class="row-{a.Priority.ToString().ToLowerInvariant()} {(a.Origin == AlarmOrigin.Centre ? "technical" : "")} {(a.Repeats > 0 ? "repeated" : "")} {(Escalated(a) ? "escalated" : "")}">
                  <td>{PriorityBadge(p, a.Priority)}</td>
                  <td class="home">{HomeCell(p, a, label, homes?.GetValueOrDefault(a.GatewayId))}</td>
                  <td>{E(Texts.Value(p.Lang, "room", a.Room))}</td>
                  <td>{E(Texts.Value(p.Lang, "type", a.Type))}{RepeatText(p, a)}</td>
                  <td class="waited" data-raised="{raisedMs}" title="{E(p.Local(a.RaisedAt))}">{E(Duration(p.Now - a.RaisedAt))}</td>
                  <td>{E(StatusText(p, a))}{(a.AcceptedBy is null ? "" : $"<br><small>{E(a.AcceptedBy)}</small>")}{(Escalated(a) ? $"<br><strong class=\"escalated\">{E(string.Format(CultureInfo.InvariantCulture, p.T("escalated"), p.Local(a.EscalatedAt, "HH:mm:ss")))}</strong>" : "")}</td>
                  <td class="reason">{E(a.Reason)}</td>
                  <td>{action}<a class="open-alarm" href="{E(ConsoleEndpoints.AlarmPath(a))}">{E(p.T("alarm.open"))}</a></td>
                </tr>
                """);
        }

        sb.Append(QueueFooter(p, page));
        return sb.ToString();
    }

    /// <summary>Who and where: the resident's name and address when the home has a record, else the label or gateway id; a link to the home.</summary>
    private static string HomeCell(PageContext p, StoredAlarm a, string? label, Homes.HomeRecord? home)
    {
        var link = $"<a href=\"{E(Homes.HomeEndpoints.HomePath(a.GatewayId))}\" class=\"home-link\">{E(p.T("home.open"))}</a>";
        if (home is null || home.IsUnreadable || home.Residents.Count == 0)
        {
            return $"<strong>{E(label ?? a.GatewayId)}</strong>{(label is null ? "" : $"<br><small>{E(a.GatewayId)}</small>")}{(home is { IsUnreadable: true } ? "<br>" + Homes.HomePages.AlarmCard(p, home, false) : "")}<br><small>{link}</small>";
        }

        return $"<strong class=\"resident\">{E(home.Names)}</strong><br><small>{E(home.Address)}{(label is null ? "" : " · " + E(label))}</small>"
            + Homes.HomePages.AlarmCard(p, home, accepted: a.Status != HandlingStatus.Received) + $"<small>{link}</small>";
    }

    /// <summary>Which rows of how many the page shows, with links to the pages beside it when the queue is longer than one.</summary>
    private static string QueueFooter(PageContext p, QueuePage page)
    {
        if (page.Number == 1 && page.Rows.Count == page.Total)
        {
            return "";
        }

        string F(string key, params object[] args) => string.Format(CultureInfo.InvariantCulture, p.T(key), args);
        var first = page.Skip + 1;
        var text = page.Rows.Count == 0
            ? F("queue.page.empty", page.Total)
            : F("queue.page", first, page.Skip + page.Rows.Count, page.Total);
        var links = (page.Number > 1 ? $" <a href=\"/?page={page.Number - 1}\">{E(p.T("queue.previous"))}</a>" : "")
            + (page.Skip + page.Rows.Count < page.Total ? $" <a href=\"/?page={page.Number + 1}\">{E(p.T("queue.next"))}</a>" : "");
        return $"<tr class=\"pages\"><td colspan=\"8\">{E(text)}{links}</td></tr>";
    }

    public static string History(PageContext p, IReadOnlyList<StoredAlarm> alarms, DateTimeOffset from, DateTimeOffset to)
    {
        var rows = new StringBuilder();
        foreach (var a in alarms)
        {
            rows.Append(CultureInfo.InvariantCulture, $"""
                <tr data-alarm-id="{E(a.AlarmId)}">
                  <td>{E(p.Local(a.RaisedAt))}</td><td>{PriorityBadge(p, a.Priority)}</td><td>{E(a.GatewayId)}</td>
                  <td>{E(Texts.Value(p.Lang, "room", a.Room))}</td><td>{E(Texts.Value(p.Lang, "type", a.Type))}</td>
                  <td>{E(StatusText(p, a))}</td>
                  <td>{E(p.Local(a.ReceivedAt, "HH:mm:ss"))}</td><td>{E(p.Local(a.AcceptedAt, "HH:mm:ss"))} <small>{E(a.AcceptedBy)}</small></td>
                  <td>{E(p.Local(a.ClosedAt, "HH:mm:ss"))} <small>{E(a.ClosedBy)}</small></td>
                  <td>{E(Texts.Value(p.Lang, "outcome", a.Outcome))}</td><td class="reason">{E(a.Note)}</td><td>{a.Copies}</td>
                </tr>
                """);
        }

        return Layout(p, "history", p.T("history"), $"""
            {PeriodForm(p, "/history", from, to, "")}
            <table>
              <thead><tr><th>{E(p.T("raised"))}</th><th>{E(p.T("priority"))}</th><th>{E(p.T("gateway"))}</th><th>{E(p.T("room"))}</th><th>{E(p.T("type"))}</th><th>{E(p.T("status"))}</th><th>{E(p.T("received"))}</th><th>{E(p.T("accepted"))}</th><th>{E(p.T("closed"))}</th><th>{E(p.T("outcome"))}</th><th>{E(p.T("note"))}</th><th>{E(p.T("copies"))}</th></tr></thead>
              <tbody>{(alarms.Count == 0 ? $"<tr><td colspan=\"12\">{E(p.T("none"))}</td></tr>" : rows.ToString())}</tbody>
            </table>
            """);
    }

    public static string Gateways(PageContext p, IReadOnlyList<GatewayRecord> gateways, IReadOnlyList<StoredAlarm> open, IReadOnlyList<SensorProblem> sensors, IReadOnlyList<TestAlarmSeen>? tests = null)
    {
        var lastTest = (tests ?? []).ToDictionary(t => t.GatewayId, StringComparer.Ordinal);
        var rows = new StringBuilder();
        foreach (var g in gateways)
        {
            var (cls, state) = g.State switch
            {
                GatewayState.Offline => ("offline", p.T("offline")),
                GatewayState.Online when g.Silent => ("silent", p.T("silent")),
                GatewayState.Online => ("online", p.T("online")),
                _ => ("unknown", p.T("unknown")),
            };
            var openHere = open.Count(a => a.GatewayId == g.GatewayId);
            var edit = p.IsAdmin
                ? $"""<form method="post" action="/gateways/{E(g.GatewayId)}" class="inline">{p.Csrf}<input name="label" maxlength="{ConsoleEndpoints.MaxLabelLength}" value="{E(g.Label)}" aria-label="{E(p.T("label"))}" placeholder="{E(p.T("label"))}" size="12"><input name="group" maxlength="{ConsoleEndpoints.MaxLabelLength}" value="{E(g.HomeGroup)}" aria-label="{E(p.T("group"))}" placeholder="{E(p.T("group"))}" size="10"><button>{E(p.T("save"))}</button></form>"""
                : $"{E(g.Label)} <small>{E(g.HomeGroup)}</small>";
            rows.Append(CultureInfo.InvariantCulture, $"""
                <tr data-gateway-id="{E(g.GatewayId)}"><td><a href="{E(Homes.HomeEndpoints.HomePath(g.GatewayId))}">{E(g.GatewayId)}</a></td><td>{edit}</td><td><span class="dot {cls}"></span>{E(state)}</td>
                <td>{E(p.Local(g.LastHeartbeatAt))}</td><td>{g.PendingAlarms?.ToString(CultureInfo.InvariantCulture) ?? ""}</td><td>{openHere}</td><td>{E(g.SoftwareVersion)}</td>
                <td class="last-test">{(lastTest.TryGetValue(g.GatewayId, out var t) && t.LastReceivedAt is { } at ? $"{E(p.Local(at))} <small>({E(Took(t.Took))})</small>" : "–")}</td></tr>
                """);
        }

        var sensorRows = new StringBuilder();
        foreach (var s in sensors)
        {
            sensorRows.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(s.GatewayId)}</td><td>{E(s.SensorId)}</td><td>{E(Texts.Value(p.Lang, "room", s.Room))}</td><td>{E(Texts.Value(p.Lang, "type", s.Problem))}</td><td>{E(p.Local(s.Since))}</td></tr>");
        }

        return Layout(p, "gateways", p.T("gateways"), $"""
            <table>
              <thead><tr><th>{E(p.T("gateway"))}</th><th>{E(p.T("label"))} / {E(p.T("group"))}</th><th>{E(p.T("status"))}</th><th>{E(p.T("last.heartbeat"))}</th><th>{E(p.T("pending"))}</th><th>{E(p.T("open.here"))}</th><th>{E(p.T("software"))}</th><th>{E(p.T("last.test"))}</th></tr></thead>
              <tbody>{(gateways.Count == 0 ? $"<tr><td colspan=\"7\">{E(p.T("none"))}</td></tr>" : rows.ToString())}</tbody>
            </table>
            <h2>{E(p.T("sensors.attention"))}</h2>
            <table>
              <thead><tr><th>{E(p.T("gateway"))}</th><th>{E(p.T("sensor"))}</th><th>{E(p.T("room"))}</th><th>{E(p.T("problem"))}</th><th>{E(p.T("since"))}</th></tr></thead>
              <tbody>{(sensors.Count == 0 ? $"<tr><td colspan=\"5\">{E(p.T("none"))}</td></tr>" : sensorRows.ToString())}</tbody>
            </table>
            """);
    }

    public static string PeriodForm(PageContext p, string action, DateTimeOffset from, DateTimeOffset to, string extra) => $"""
        <form method="get" action="{action}" class="filters">
          <label>{E(p.T("from"))} <input type="date" name="from" value="{E(p.Local(from, "yyyy-MM-dd"))}"></label>
          <label>{E(p.T("to"))} <input type="date" name="to" value="{E(p.Local(to.AddDays(-1), "yyyy-MM-dd"))}"></label>
          {extra}
          <button>{E(p.T("show"))}</button>
        </form>
        """;
}

/// <summary>One page of the queue as shown: its number (from 1), the rows and the open alarms in all.</summary>
public sealed record QueuePage(int Number, int Skip, IReadOnlyList<StoredAlarm> Rows, int Total);
