using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Service.Figures;

public enum FigurePeriod
{
    Day,
    Week,
    Month,
}

public static class FigurePeriods
{
    public static FigurePeriod Parse(string? s) => s switch
    {
        "day" => FigurePeriod.Day,
        "month" => FigurePeriod.Month,
        _ => FigurePeriod.Week,
    };

    /// <summary>day, week or month; empty for the default (week).</summary>
    public static bool TryParse(string? s, out FigurePeriod period)
    {
        period = string.IsNullOrEmpty(s) ? FigurePeriod.Week : Parse(s);
        return string.IsNullOrEmpty(s) || s is "day" or "week" or "month";
    }

    public static string Name(FigurePeriod p) => p.ToString().ToLowerInvariant();

    /// <summary>Start of the period holding <paramref name="t"/>, in the centre's zone (weeks start on Monday, ISO 8601).</summary>
    public static DateTimeOffset StartOf(FigurePeriod period, DateTimeOffset t, TimeZoneInfo zone)
    {
        var local = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(t, zone).DateTime);
        var day = period switch
        {
            FigurePeriod.Day => local,
            FigurePeriod.Week => local.AddDays(-(((int)local.DayOfWeek + 6) % 7)),
            _ => new DateOnly(local.Year, local.Month, 1),
        };
        return Web.ConsoleEndpoints.LocalMidnight(zone, day);
    }

    public static DateTimeOffset Next(FigurePeriod period, DateTimeOffset start, TimeZoneInfo zone)
    {
        var local = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(start, zone).DateTime);
        var next = period switch
        {
            FigurePeriod.Day => local.AddDays(1),
            FigurePeriod.Week => local.AddDays(7),
            _ => local.AddMonths(1),
        };
        return Web.ConsoleEndpoints.LocalMidnight(zone, next);
    }
}

/// <summary>Median and 90th percentile of a duration, in seconds, over <see cref="Count"/> alarms.</summary>
public sealed record DurationFigure(int Count, double? MedianSeconds, double? P90Seconds);

/// <summary>The figures for one period and one home group (<c>all</c> for every home).</summary>
public sealed record FigureRow
{
    public required DateTimeOffset PeriodStart { get; init; }
    public required DateTimeOffset PeriodEnd { get; init; }
    public required string Group { get; init; }

    /// <summary>Alarms raised in the period, gateway alarms and the centre's own technical alarms.</summary>
    public required int Alarms { get; init; }
    public required IReadOnlyDictionary<string, int> ByType { get; init; }

    /// <summary>From raised on the gateway to stored at the centre.</summary>
    public required DurationFigure TimeToReceive { get; init; }

    /// <summary>From raised to accepted by an operator.</summary>
    public required DurationFigure TimeToAccept { get; init; }

    /// <summary>From raised to closed.</summary>
    public required DurationFigure TimeToClose { get; init; }

    /// <summary>Care alarms (not technical) cancelled by the resident in the pre-alarm window.</summary>
    public required int CancelledLocally { get; init; }
    public required double? ShareCancelledLocally { get; init; }

    /// <summary>Closed alarms the operator marked as false alarm.</summary>
    public required int ClosedAsFalseAlarm { get; init; }
    public required double? ShareFalseAlarm { get; init; }

    /// <summary>Time the group's gateways were online and sending heartbeats, over the time the centre knew their state (0..1).</summary>
    public required double? GatewayAvailability { get; init; }

    /// <summary>
    /// Per priority (critical, high, medium, low): care alarms raised in the period, and how many of them missed their
    /// time to be accepted (escalated).
    /// </summary>
    public required IReadOnlyDictionary<string, PriorityFigure> ByPriority { get; init; }
}

/// <summary>Care alarms of one priority, and how many missed their time to be accepted.</summary>
public sealed record PriorityFigure(int Alarms, int MissedTimeToAccept);

public sealed record FigureReport(DateTimeOffset From, DateTimeOffset To, string Period, string? Group, DateTimeOffset ComputedAt, IReadOnlyList<FigureRow> Rows);

/// <summary>
/// Quality figures for the municipality, from what the centre stored: alarms by type, times to receive, accept and
/// close, the share cancelled locally and closed as false alarm, and gateway availability, by period and home group.
/// Pure computation over stored rows (the same for SQLite and PostgreSQL).
/// </summary>
public static class QualityFigures
{
    public const string AllGroups = "all";
    public const string NoGroup = "(none)";

    public static async Task<FigureReport> ComputeAsync(ICentreStore store, DateTimeOffset from, DateTimeOffset to, FigurePeriod period, string? group, TimeZoneInfo zone, DateTimeOffset now, CancellationToken ct)
    {
        var alarms = await store.AlarmsAsync(from, to, 1_000_000, ct);
        var events = await store.GatewayEventsAsync(to, ct);
        var gateways = (await store.GatewaysAsync(ct)).ToDictionary(g => g.GatewayId, StringComparer.Ordinal);
        return Compute(alarms, events, gateways, from, to, period, string.IsNullOrWhiteSpace(group) ? null : group, zone, now);
    }

    public static FigureReport Compute(
        IReadOnlyList<StoredAlarm> alarms,
        IReadOnlyList<GatewayEvent> events,
        IReadOnlyDictionary<string, GatewayRecord> gateways,
        DateTimeOffset from,
        DateTimeOffset to,
        FigurePeriod period,
        string? group,
        TimeZoneInfo zone,
        DateTimeOffset now)
    {
        string GroupOf(string gatewayId) => gateways.TryGetValue(gatewayId, out var g) && g.HomeGroup is { } h ? h : NoGroup;
        var groups = group is not null
            ? [group]
            : gateways.Keys.Select(GroupOf).Concat(alarms.Select(a => GroupOf(a.GatewayId))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var rows = new List<FigureRow>();
        for (var start = FigurePeriods.StartOf(period, from, zone); start < to; start = FigurePeriods.Next(period, start, zone))
        {
            var end = FigurePeriods.Next(period, start, zone);
            var s = start < from ? from : start;
            var e = end > to ? to : end;
            var inPeriod = alarms.Where(a => a.RaisedAt >= s && a.RaisedAt < e).ToList();
            if (group is null)
            {
                rows.Add(Row(s, e, AllGroups, inPeriod, events, gateways.Keys, now));
            }

            foreach (var g in groups)
            {
                var members = gateways.Keys.Where(id => GroupOf(id) == g).ToList();
                rows.Add(Row(s, e, g, inPeriod.Where(a => GroupOf(a.GatewayId) == g).ToList(), events, members, now));
            }
        }

        return new FigureReport(from, to, FigurePeriods.Name(period), group, now, rows);
    }

    private static FigureRow Row(DateTimeOffset from, DateTimeOffset to, string group, List<StoredAlarm> alarms, IReadOnlyList<GatewayEvent> events, IEnumerable<string> gatewayIds, DateTimeOffset now)
    {
        var fromGateways = alarms.Where(a => a.Origin == AlarmOrigin.Gateway).ToList();
        var care = fromGateways.Where(a => !a.IsTechnical).ToList();
        var handled = alarms.Where(a => a.State == AlarmState.Raised).ToList();
        var closed = handled.Where(a => a.Status == HandlingStatus.Closed).ToList();
        var cancelled = care.Count(a => a.State == AlarmState.Cancelled);
        var falseAlarms = closed.Count(a => a.Outcome == CloseOutcome.FalseAlarm);
        return new FigureRow
        {
            PeriodStart = from,
            PeriodEnd = to,
            Group = group,
            Alarms = alarms.Count,
            ByType = alarms.GroupBy(a => a.Type, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            TimeToReceive = Durations(fromGateways.Select(a => a.ReceivedAt - a.RaisedAt)),
            TimeToAccept = Durations(handled.Where(a => a.AcceptedAt is not null).Select(a => a.AcceptedAt!.Value - a.RaisedAt)),
            TimeToClose = Durations(closed.Select(a => a.ClosedAt!.Value - a.RaisedAt)),
            CancelledLocally = cancelled,
            ShareCancelledLocally = care.Count == 0 ? null : (double)cancelled / care.Count,
            ClosedAsFalseAlarm = falseAlarms,
            ShareFalseAlarm = closed.Count == 0 ? null : (double)falseAlarms / closed.Count,
            GatewayAvailability = Availability(events, gatewayIds, from, to < now ? to : now),
            ByPriority = Enum.GetValues<AlarmPriority>().ToDictionary(
                PriorityName,
                p => new PriorityFigure(care.Count(a => a.State == AlarmState.Raised && a.Priority == p), care.Count(a => a.State == AlarmState.Raised && a.Priority == p && a.EscalatedAt is not null)),
                StringComparer.Ordinal),
        };
    }

    public static string PriorityName(AlarmPriority p) => p.ToString().ToLowerInvariant();

    /// <summary>Share of known time in [from, to) that the gateways were reachable; null when no state was known.</summary>
    public static double? Availability(IReadOnlyList<GatewayEvent> events, IEnumerable<string> gatewayIds, DateTimeOffset from, DateTimeOffset to)
    {
        if (to <= from)
        {
            return null;
        }

        double up = 0, known = 0;
        var byGateway = events.GroupBy(e => e.GatewayId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.OrderBy(e => e.At).ToList(), StringComparer.Ordinal);
        foreach (var id in gatewayIds)
        {
            if (!byGateway.TryGetValue(id, out var list))
            {
                continue;
            }

            bool? state = null;
            var cursor = from;
            foreach (var e in list)
            {
                if (e.At <= from)
                {
                    state = e.Available;
                    continue;
                }

                if (e.At >= to)
                {
                    break;
                }

                Add(state, e.At - cursor);
                cursor = e.At;
                state = e.Available;
            }

            Add(state, to - cursor);
        }

        return known == 0 ? null : up / known;

        void Add(bool? state, TimeSpan span)
        {
            if (state is { } s)
            {
                known += span.TotalMilliseconds;
                up += s ? span.TotalMilliseconds : 0;
            }
        }
    }

    public static DurationFigure Durations(IEnumerable<TimeSpan> spans)
    {
        var seconds = spans.Select(s => Math.Max(0, s.TotalSeconds)).Order().ToList();
        return seconds.Count == 0 ? new DurationFigure(0, null, null) : new DurationFigure(seconds.Count, Percentile(seconds, 0.5), Percentile(seconds, 0.9));
    }

    /// <summary>Linear interpolation between closest ranks (the common "type 7" definition).</summary>
    private static double Percentile(List<double> sorted, double q)
    {
        var pos = (sorted.Count - 1) * q;
        var lo = (int)Math.Floor(pos);
        var hi = (int)Math.Ceiling(pos);
        return Math.Round(sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo)), 3);
    }

    public static string ToCsv(FigureReport report)
    {
        var types = report.Rows.SelectMany(r => r.ByType.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var sb = new StringBuilder();
        sb.Append("period_start,period_end,group,alarms,receive_count,receive_median_s,receive_p90_s,accept_count,accept_median_s,accept_p90_s,close_count,close_median_s,close_p90_s,cancelled_locally,share_cancelled_locally,closed_false_alarm,share_false_alarm,gateway_availability");
        foreach (var p in Enum.GetValues<AlarmPriority>())
        {
            sb.Append(CultureInfo.InvariantCulture, $",{PriorityName(p)}_alarms,{PriorityName(p)}_missed_time_to_accept");
        }

        foreach (var t in types)
        {
            sb.Append(',').Append(CsvCell("type_" + t));
        }

        sb.Append('\n');
        foreach (var r in report.Rows)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{r.PeriodStart:yyyy-MM-ddTHH:mm:sszzz},{r.PeriodEnd:yyyy-MM-ddTHH:mm:sszzz},{CsvCell(r.Group)},{r.Alarms},");
            foreach (var d in new[] { r.TimeToReceive, r.TimeToAccept, r.TimeToClose })
            {
                sb.Append(CultureInfo.InvariantCulture, $"{d.Count},{N(d.MedianSeconds)},{N(d.P90Seconds)},");
            }

            sb.Append(CultureInfo.InvariantCulture, $"{r.CancelledLocally},{N(r.ShareCancelledLocally)},{r.ClosedAsFalseAlarm},{N(r.ShareFalseAlarm)},{N(r.GatewayAvailability)}");
            foreach (var p in Enum.GetValues<AlarmPriority>())
            {
                var f = r.ByPriority.TryGetValue(PriorityName(p), out var v) ? v : new PriorityFigure(0, 0);
                sb.Append(CultureInfo.InvariantCulture, $",{f.Alarms},{f.MissedTimeToAccept}");
            }

            foreach (var t in types)
            {
                sb.Append(',').Append(r.ByType.TryGetValue(t, out var n) ? n : 0);
            }

            sb.Append('\n');
        }

        return sb.ToString();

        static string N(double? v) => v?.ToString("0.####", CultureInfo.InvariantCulture) ?? "";
    }

    /// <summary>
    /// One CSV cell that no spreadsheet evaluates: a text starting with <c>= + - @</c>, a tab or a carriage return
    /// gets a leading apostrophe (quoting alone does not stop Excel or LibreOffice from running it as a formula,
    /// OWASP's CSV-injection advice), and a cell holding a comma, quote or line break is quoted.
    /// </summary>
    public static string CsvCell(string s)
    {
        if (s.Length > 0 && s[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            s = "'" + s;
        }

        return s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
    }

    public static byte[] ToJson(FigureReport report) => JsonSerializer.SerializeToUtf8Bytes(report, FiguresJsonContext.Default.FigureReport);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(FigureReport))]
internal sealed partial class FiguresJsonContext : JsonSerializerContext;
