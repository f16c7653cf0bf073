using System.Globalization;
using System.Text;
using CareGateway.ResponseCentre.Service.Web;
using static CareGateway.ResponseCentre.Service.Web.Html;

namespace CareGateway.ResponseCentre.Service.Figures;

/// <summary>The figures page (table and inline SVG charts) and the record-export page.</summary>
public static class FiguresPage
{
    private static readonly string[] PeriodNames = ["day", "week", "month"];

    public static string Render(PageContext p, FigureReport report, IReadOnlyList<string> groups, string query)
    {
        var groupSelect = new StringBuilder($"<label>{E(p.T("group"))} <select name=\"group\"><option value=\"\">{E(p.T("all.groups"))}</option>");
        foreach (var g in groups)
        {
            groupSelect.Append(CultureInfo.InvariantCulture, $"<option{(g == report.Group ? " selected" : "")}>{E(g)}</option>");
        }

        groupSelect.Append("</select></label>");
        var periodSelect = $"<label>{E(p.T("period"))} <select name=\"period\">" +
            string.Concat(PeriodNames.Select(x => $"<option value=\"{x}\"{(x == report.Period ? " selected" : "")}>{E(p.T("period." + x))}</option>")) + "</select></label>";

        var main = report.Rows.Where(r => r.Group == (report.Group ?? QualityFigures.AllGroups)).ToList();
        var byType = main.SelectMany(r => r.ByType).GroupBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(g => (Label: Texts.Value(p.Lang, "type", g.Key), Value: (double)g.Sum(kv => kv.Value))).OrderByDescending(x => x.Value).ToList();
        var acceptByPeriod = main.Select(r => (Label: p.Local(r.PeriodStart, "dd.MM"), Value: r.TimeToAccept.MedianSeconds ?? double.NaN)).ToList(); // a period without alarms has no time: "–", not "0 s"

        var rows = new StringBuilder();
        foreach (var r in report.Rows)
        {
            rows.Append(CultureInfo.InvariantCulture, $"""
                <tr><td>{E(p.Local(r.PeriodStart, "yyyy-MM-dd"))}</td><td>{E(r.Group == QualityFigures.AllGroups ? p.T("all.groups") : r.Group)}</td><td>{r.Alarms}</td>
                <td>{Secs(r.TimeToReceive.MedianSeconds)}</td><td>{Secs(r.TimeToAccept.MedianSeconds)}</td><td>{Secs(r.TimeToClose.MedianSeconds)}</td>
                <td>{Pct(r.ShareCancelledLocally)}</td><td>{Pct(r.ShareFalseAlarm)}</td><td>{Pct(r.GatewayAvailability)}</td>
                <td>{E(Missed(p, r))}</td></tr>
                """);
        }

        var q = query.StartsWith('?') ? query : "";
        return Layout(p, "figures", p.T("figures"), $"""
            {Pages.PeriodForm(p, "/figures", report.From, report.To, periodSelect + groupSelect)}
            <p class="downloads">{E(p.T("download"))}: <a href="/figures.csv{E(q)}">CSV</a> · <a href="/figures.json{E(q)}">JSON</a></p>
            <div class="charts">
              <figure class="card"><figcaption>{E(p.T("alarms.by.type"))}</figcaption>{BarChart(byType, v => v.ToString("0", CultureInfo.InvariantCulture))}</figure>
              <figure class="card"><figcaption>{E(p.T("time.to.accept"))}</figcaption>{BarChart(acceptByPeriod, v => Duration(TimeSpan.FromSeconds(v)))}</figure>
            </div>
            <table>
              <thead><tr><th>{E(p.T("period"))}</th><th>{E(p.T("group"))}</th><th>{E(p.T("alarms"))}</th><th>{E(p.T("time.to.receive"))}</th><th>{E(p.T("time.to.accept"))}</th><th>{E(p.T("time.to.close"))}</th><th>{E(p.T("share.cancelled"))}</th><th>{E(p.T("share.false"))}</th><th>{E(p.T("availability"))}</th><th>{E(p.T("missed.time"))}</th></tr></thead>
              <tbody>{rows}</tbody>
            </table>
            """);
    }

    /// <summary>"critical 1/4 · high 0/2": per priority with alarms, how many of them missed their time to be accepted.</summary>
    private static string Missed(PageContext p, FigureRow r) => string.Join(" · ", r.ByPriority.Where(kv => kv.Value.Alarms > 0)
        .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{Texts.Value(p.Lang, "priority", kv.Key)} {kv.Value.MissedTimeToAccept}/{kv.Value.Alarms}")));

    public static string ExportPage(PageContext p, DateTimeOffset from, DateTimeOffset to) => Layout(p, "export", p.T("export"), $"""
        <p>{E(p.T("fhir.intro"))}</p>
        <form method="get" action="/export/fhir" class="filters">
          <label>{E(p.T("from"))} <input type="date" name="from" value="{E(p.Local(from, "yyyy-MM-dd"))}"></label>
          <label>{E(p.T("to"))} <input type="date" name="to" value="{E(p.Local(to.AddDays(-1), "yyyy-MM-dd"))}"></label>
          <button>{E(p.T("download"))}</button>
        </form>
        """);

    /// <summary>A horizontal bar chart as inline SVG (no script, no library).</summary>
    /// <summary>A horizontal bar per value; a value that is NaN (nothing to measure) shows "–" and no bar.</summary>
    public static string BarChart(IReadOnlyList<(string Label, double Value)> bars, Func<double, string> format)
    {
        if (bars.Count == 0)
        {
            return "<p class=\"muted\">–</p>";
        }

        const int rowHeight = 24, labelWidth = 150, barWidth = 260;
        var max = Math.Max(bars.Where(b => !double.IsNaN(b.Value)).Select(b => b.Value).DefaultIfEmpty(0).Max(), 1e-9);
        var height = (bars.Count * rowHeight) + 4;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {labelWidth + barWidth + 90} {height}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">");
        for (var i = 0; i < bars.Count; i++)
        {
            var (label, value) = bars[i];
            var y = (i * rowHeight) + 2;
            if (double.IsNaN(value))
            {
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 6}\" y=\"{y + 16}\" text-anchor=\"end\">{E(label)}</text><text x=\"{labelWidth + 6}\" y=\"{y + 16}\">–</text>");
                continue;
            }

            var w = Math.Max(1, value / max * barWidth);
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth - 6}\" y=\"{y + 16}\" text-anchor=\"end\">{E(label)}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{labelWidth}\" y=\"{y + 3}\" width=\"{w:0.#}\" height=\"{rowHeight - 8}\" rx=\"3\"><title>{E(label)}: {E(format(value))}</title></rect>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelWidth + w + 6:0.#}\" y=\"{y + 16}\">{E(format(value))}</text>");
        }

        return sb.Append("</svg>").ToString();
    }

    private static string Secs(double? s) => s is { } v ? E(Duration(TimeSpan.FromSeconds(v))) : "–";

    private static string Pct(double? v) => v is { } x ? (x * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %" : "–";
}
