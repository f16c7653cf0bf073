using System.Globalization;
using System.Xml;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway;

/// <summary>How many alarms and near misses each rule had in one night.</summary>
/// <param name="Night">The evening's local date: the night runs from noon of this date to noon of the next.</param>
/// <param name="Alarms">Alarms per type (cancelled pre-alarms included: the rule raised them).</param>
/// <param name="NearMisses">Near misses per type.</param>
public sealed record NightCounts(DateOnly Night, IReadOnlyDictionary<string, int> Alarms, IReadOnlyDictionary<string, int> NearMisses);

/// <summary>
/// Counts per rule per night. A night is named by the evening's local date and runs from noon to noon in the profile's
/// zone, so an alarm at 02:19 on the 27th belongs to the night of the 26th, and a not-up alarm at 10:00 to the night
/// before it.
/// </summary>
public static class ReplayNights
{
    /// <summary>The night (the evening's local date) that <paramref name="at"/> belongs to.</summary>
    public static DateOnly NightOf(DateTimeOffset at, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        return DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime.AddHours(-12));
    }

    /// <summary>Every night from the first to the last input, alarm or near miss, zeros included.</summary>
    public static List<NightCounts> Count(TimeZoneInfo zone, IReadOnlyList<ReplayInput> inputs, IReadOnlyList<AlarmRequest> alarms, IReadOnlyList<NearMiss> nearMisses)
    {
        var times = inputs.Select(i => i.At).Concat(alarms.Select(a => a.At)).Concat(nearMisses.Select(n => n.At)).ToList();
        if (times.Count == 0)
        {
            return [];
        }

        var first = NightOf(times.Min(), zone);
        var last = NightOf(times.Max(), zone);
        var nights = new List<NightCounts>();
        for (var night = first; night <= last; night = night.AddDays(1))
        {
            var n = night;
            nights.Add(new NightCounts(
                n,
                Tally(alarms.Where(a => NightOf(a.At, zone) == n).Select(a => a.Type)),
                Tally(nearMisses.Where(m => NightOf(m.At, zone) == n).Select(m => m.Type))));
        }

        return nights;
    }

    /// <summary>The rules that appear in the counts, in order of their first alarm or near miss.</summary>
    public static List<string> Rules(IReadOnlyList<AlarmRequest> alarms, IReadOnlyList<NearMiss> nearMisses) =>
        [.. alarms.Select(a => (a.At, a.Type)).Concat(nearMisses.Select(n => (n.At, n.Type))).OrderBy(x => x.At).Select(x => x.Type).Distinct(StringComparer.Ordinal)];

    /// <summary>The table as text: a row a night, a column a rule; a cell is the alarms, with "+N near" for near misses.</summary>
    public static void Print(TextWriter output, IReadOnlyList<NightCounts> nights, IReadOnlyList<string> rules)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine("Alarms per night (noon to noon, named by the evening's date; \"+N near\": near misses):");
        var cells = nights.Select(n => rules.Select(r =>
        {
            var a = n.Alarms.GetValueOrDefault(r);
            var m = n.NearMisses.GetValueOrDefault(r);
            return m > 0 ? string.Create(CultureInfo.InvariantCulture, $"{a} +{m} near") : a.ToString(CultureInfo.InvariantCulture);
        }).ToList()).ToList();
        var widths = rules.Select((r, i) => Math.Max(r.Length, cells.Select(c => c[i].Length).DefaultIfEmpty(0).Max())).ToList();
        output.WriteLine(("night".PadRight(14) + string.Concat(rules.Select((r, i) => "  " + r.PadRight(widths[i])))).TrimEnd());
        for (var row = 0; row < nights.Count; row++)
        {
            var day = nights[row].Night.ToString("yyyy-MM-dd ddd", CultureInfo.InvariantCulture);
            output.WriteLine((day + "  " + string.Concat(cells[row].Select((c, i) => c.PadRight(widths[i]) + "  "))).TrimEnd());
        }
    }

    private static Dictionary<string, int> Tally(IEnumerable<string> types) =>
        types.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
}

/// <summary>The alarms one profile raises and another does not, on the same recording (<c>replay --compare</c>).</summary>
/// <param name="OnlyThis">Raised with <c>--profile</c> only.</param>
/// <param name="OnlyOther">Raised with the <c>--compare</c> profile only.</param>
/// <param name="StateDiffers">Raised by both, but cancelled by the resident with one of them (the pre-alarm timing differs).</param>
public sealed record ReplayComparison(List<AlarmRequest> OnlyThis, List<AlarmRequest> OnlyOther, List<(AlarmRequest This, AlarmRequest Other)> StateDiffers)
{
    /// <summary>
    /// Two alarms are the same alarm when type and sensor are equal and their times are at most this far apart: a limit
    /// changed by a few minutes moves an alarm, it does not make it another one.
    /// </summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    /// <summary>Matches each alarm of <paramref name="these"/> with the nearest unmatched one of <paramref name="others"/>.</summary>
    public static ReplayComparison Of(IReadOnlyList<AlarmRequest> these, IReadOnlyList<AlarmRequest> others)
    {
        ArgumentNullException.ThrowIfNull(these);
        ArgumentNullException.ThrowIfNull(others);
        var unmatched = others.OrderBy(a => a.At).ToList();
        var onlyThis = new List<AlarmRequest>();
        var differs = new List<(AlarmRequest, AlarmRequest)>();
        foreach (var a in these.OrderBy(a => a.At))
        {
            var match = unmatched
                .Where(b => b.Type == a.Type && b.SensorId == a.SensorId && (b.At - a.At).Duration() <= Tolerance)
                .OrderBy(b => (b.At - a.At).Duration())
                .FirstOrDefault();
            if (match is null)
            {
                onlyThis.Add(a);
                continue;
            }

            unmatched.Remove(match);
            if (match.State != a.State)
            {
                differs.Add((a, match));
            }
        }

        return new ReplayComparison(onlyThis, unmatched, differs);
    }

    /// <summary>The differences as text, alarms in the same columns as the replay's own table.</summary>
    public void Print(TextWriter output, TimeZoneInfo zone, string thisName, string otherName)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine($"Compared with {otherName} (the same type and sensor within {HumanTime.Duration(Tolerance)} count as the same alarm):");
        Section($"Only with {thisName}", OnlyThis);
        Section($"Only with {otherName}", OnlyOther);
        if (StateDiffers.Count > 0)
        {
            output.WriteLine("Raised by both, cancelled with one:");
            foreach (var (a, b) in StateDiffers)
            {
                output.WriteLine($"  {HumanTime.Local(a.At, zone)}  {a.Type,-24} {a.SensorId ?? "-",-14} {(a.State == AlarmState.Cancelled ? $"cancelled with {thisName}, raised with {otherName}" : $"raised with {thisName}, cancelled with {otherName}")}");
            }
        }

        void Section(string title, List<AlarmRequest> alarms)
        {
            output.WriteLine(alarms.Count == 0 ? $"{title}: none." : $"{title}: {alarms.Count}");
            foreach (var a in alarms)
            {
                output.WriteLine($"  {Replay.Line(a, zone)}");
            }
        }
    }
}

/// <summary>
/// The recording and its alarms as an SVG timeline (<c>replay --svg FILE</c>): a lane per sensor with its active periods,
/// a mark per alarm (<c>&lt;circle class="alarm"&gt;</c> with a <c>&lt;title&gt;</c> of its type and local time) and
/// per near miss (<c>class="near-miss"</c>), on the lane of its sensor (the top lane "home" when it has none), and a
/// tick at each local midnight.
/// </summary>
public static class ReplaySvg
{
    private const string Ns = "http://www.w3.org/2000/svg";
    private const double Left = 130;
    private const double PlotWidth = 1400;
    private const double Top = 30;
    private const double Lane = 26;

    public static void Write(string path, CareProfile profile, IReadOnlyList<SensorDefinition> sensors, IReadOnlyList<ReplayInput> inputs, ReplayOutcome outcome)
    {
        using var stream = File.Create(path);
        Write(stream, profile, sensors, inputs, outcome);
    }

    public static void Write(Stream stream, CareProfile profile, IReadOnlyList<SensorDefinition> sensors, IReadOnlyList<ReplayInput> inputs, ReplayOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(sensors);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outcome);
        var zone = profile.ResolveTimeZone();
        var times = inputs.Select(i => i.At).Concat(outcome.Alarms.Select(a => a.At)).Concat(outcome.NearMisses.Select(n => n.At)).ToList();
        var first = times.Count > 0 ? times.Min() : DateTimeOffset.UnixEpoch;
        var last = times.Count > 0 ? times.Max() : first;
        var start = Midnight(TimeZoneInfo.ConvertTime(first, zone).Date, zone);
        var end = Midnight(TimeZoneInfo.ConvertTime(last, zone).Date.AddDays(1), zone);
        var total = (end - start).TotalSeconds;
        double X(DateTimeOffset t) => Left + ((t - start).TotalSeconds / total * PlotWidth);

        var lanes = new List<string> { "home" };
        lanes.AddRange(sensors.Select(s => s.Id));
        double LaneY(string? sensorId) => Top + (Math.Max(0, sensorId is null ? 0 : lanes.IndexOf(sensorId)) * Lane);
        var height = Top + (lanes.Count * Lane) + 30;

        using var w = XmlWriter.Create(stream, new XmlWriterSettings { Indent = true, Encoding = new System.Text.UTF8Encoding(false) });
        w.WriteStartDocument();
        w.WriteStartElement("svg", Ns);
        w.WriteAttributeString("width", N(Left + PlotWidth + 20));
        w.WriteAttributeString("height", N(height));
        w.WriteAttributeString("viewBox", $"0 0 {N(Left + PlotWidth + 20)} {N(height)}");
        w.WriteAttributeString("font-family", "sans-serif");
        w.WriteAttributeString("font-size", "11");
        w.WriteElementString("title", Ns, $"Replay {HumanTime.Local(first, zone)} to {HumanTime.Local(last, zone)} ({profile.TimeZone})");
        w.WriteElementString("style", Ns, ".lane{fill:#f4f4f4} .active{fill:#4a90d9} .tick{stroke:#999} .night{fill:#e3e3f3} .alarm{fill:#d0021b;stroke:#fff} .near-miss{fill:#f5a623;stroke:#fff} .cancelled{fill:#999}");

        // The night window of every day, shaded behind the lanes.
        w.WriteStartElement("g", Ns);
        w.WriteAttributeString("class", "nights");
        for (var day = TimeZoneInfo.ConvertTime(start, zone).Date.AddDays(-1); Midnight(day, zone) < end; day = day.AddDays(1))
        {
            var from = Midnight(day, zone) + profile.NightWindow.Start.ToTimeSpan();
            var to = Midnight(day, zone) + profile.NightWindow.End.ToTimeSpan() + (profile.NightWindow.End <= profile.NightWindow.Start ? TimeSpan.FromDays(1) : TimeSpan.Zero);
            var x0 = Math.Max(Left, X(from));
            var x1 = Math.Min(Left + PlotWidth, X(to));
            if (x1 > x0)
            {
                Rect(w, "night", x0, Top, x1 - x0, lanes.Count * Lane, null);
            }
        }

        w.WriteEndElement();

        // Lanes: a label and the sensor's active periods.
        for (var i = 0; i < lanes.Count; i++)
        {
            var id = lanes[i];
            var y = Top + (i * Lane);
            w.WriteStartElement("g", Ns);
            w.WriteAttributeString("class", "sensor");
            w.WriteAttributeString("data-sensor", id);
            Text(w, 4, y + (Lane / 2) + 4, null, id);
            Rect(w, "lane", Left, y + 4, PlotWidth, Lane - 8, null);
            DateTimeOffset? activeSince = null;
            foreach (var e in inputs.Select(i => i.Event).Where(e => e is { Type: SensorEventType.State } && e.SensorId == id))
            {
                if (e!.Active && activeSince is null)
                {
                    activeSince = e.At;
                }
                else if (!e.Active && activeSince is { } since)
                {
                    Active(since, e.At);
                    activeSince = null;
                }
            }

            if (activeSince is { } open)
            {
                Active(open, last);
            }

            w.WriteEndElement();

            void Active(DateTimeOffset from, DateTimeOffset to) =>
                Rect(w, "active", X(from), y + 6, Math.Max(1, X(to) - X(from)), Lane - 12, $"{id} active {HumanTime.Local(from, zone)} to {HumanTime.Local(to, zone)} ({HumanTime.Duration(to - from)})");
        }

        // Axis: a tick and the date at each local midnight.
        w.WriteStartElement("g", Ns);
        w.WriteAttributeString("class", "axis");
        var axisY = Top + (lanes.Count * Lane);
        for (var day = TimeZoneInfo.ConvertTime(start, zone).Date; Midnight(day, zone) <= end; day = day.AddDays(1))
        {
            var x = X(Midnight(day, zone));
            w.WriteStartElement("line", Ns);
            w.WriteAttributeString("class", "tick");
            w.WriteAttributeString("x1", N(x));
            w.WriteAttributeString("x2", N(x));
            w.WriteAttributeString("y1", N(Top - 6));
            w.WriteAttributeString("y2", N(axisY + 6));
            w.WriteEndElement();
            Text(w, x + 3, axisY + 18, "tick-label", day.ToString("ddd yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        w.WriteEndElement();

        foreach (var m in outcome.NearMisses)
        {
            Mark(w, "near-miss", X(m.At), LaneY(m.SensorId) + (Lane / 2), 4, $"{m.Describe()} at {HumanTime.Local(m.At, zone)}");
        }

        foreach (var a in outcome.Alarms.OrderBy(a => a.At))
        {
            var cancelled = a.State == AlarmState.Cancelled;
            Mark(w, cancelled ? "alarm cancelled" : "alarm", X(a.At), LaneY(a.SensorId) + (Lane / 2), 6, $"{a.Type}{(cancelled ? " (cancelled)" : "")} at {HumanTime.Local(a.At, zone)}: {a.Reason}");
        }

        w.WriteEndElement();
        w.WriteEndDocument();
    }

    private static DateTimeOffset Midnight(DateTime localDate, TimeZoneInfo zone)
    {
        var local = DateTime.SpecifyKind(localDate.Date, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddHours(1);
        }

        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    private static string N(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static void Rect(XmlWriter w, string cls, double x, double y, double width, double height, string? title)
    {
        w.WriteStartElement("rect", Ns);
        w.WriteAttributeString("class", cls);
        w.WriteAttributeString("x", N(x));
        w.WriteAttributeString("y", N(y));
        w.WriteAttributeString("width", N(width));
        w.WriteAttributeString("height", N(height));
        if (title is not null)
        {
            w.WriteElementString("title", Ns, title);
        }

        w.WriteEndElement();
    }

    private static void Mark(XmlWriter w, string cls, double x, double y, double r, string title)
    {
        w.WriteStartElement("circle", Ns);
        w.WriteAttributeString("class", cls);
        w.WriteAttributeString("cx", N(x));
        w.WriteAttributeString("cy", N(y));
        w.WriteAttributeString("r", N(r));
        w.WriteElementString("title", Ns, title);
        w.WriteEndElement();
    }

    private static void Text(XmlWriter w, double x, double y, string? cls, string text)
    {
        w.WriteStartElement("text", Ns);
        if (cls is not null)
        {
            w.WriteAttributeString("class", cls);
        }

        w.WriteAttributeString("x", N(x));
        w.WriteAttributeString("y", N(y));
        w.WriteString(text);
        w.WriteEndElement();
    }
}
