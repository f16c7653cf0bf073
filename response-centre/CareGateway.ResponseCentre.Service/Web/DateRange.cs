using System.Globalization;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// A [from, to) range of whole days in the centre's zone, read from a page's <c>from</c> and <c>to</c> query values
/// (<c>to</c> is inclusive as a date). Every value is checked at the edge: a date that does not parse, lies outside
/// the years the centre can hold, ends before it starts or spans more than the page allows is refused with a
/// sentence saying which value and why, instead of being ignored or costing the service seconds and memory.
/// </summary>
public readonly record struct DateRange(DateTimeOffset From, DateTimeOffset To)
{
    /// <summary>The earliest and latest dates a query may name.</summary>
    public static readonly DateOnly Earliest = new(2000, 1, 1);
    public static readonly DateOnly Latest = new(2099, 12, 31);

    /// <summary>
    /// Parses <paramref name="from"/> and <paramref name="to"/> (<c>YYYY-MM-DD</c>, empty for the default of the
    /// last <paramref name="defaultDays"/> days up to today). Null and an error sentence when a value is refused.
    /// </summary>
    public static (DateRange? Range, string? Error) Parse(string? from, string? to, int defaultDays, int maxDays, TimeZoneInfo zone, DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        if (!TryDay("from", from, out var first, out var error) || !TryDay("to", to, out var last, out error))
        {
            return (null, error);
        }

        var end = last ?? today;
        var start = first ?? (last is null ? today.AddDays(1 - defaultDays) : end.AddDays(1 - defaultDays));
        if (end < start)
        {
            return (null, $"to: {end:yyyy-MM-dd} is before from: {start:yyyy-MM-dd}.");
        }

        var days = end.DayNumber - start.DayNumber + 1;
        if (days > maxDays)
        {
            return (null, $"from {start:yyyy-MM-dd} to {end:yyyy-MM-dd} is {days} days; this page shows at most {maxDays} days at a time.");
        }

        return (new DateRange(ConsoleEndpoints.LocalMidnight(zone, start), ConsoleEndpoints.LocalMidnight(zone, end.AddDays(1))), null);
    }

    private static bool TryDay(string name, string? value, out DateOnly? day, out string? error)
    {
        day = null;
        error = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            return true;
        }

        if (value.Length > 10 || !DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
        {
            error = $"{name}: '{Shorten(value)}' is not a date; write it as YYYY-MM-DD, for example 2026-11-30.";
            return false;
        }

        if (d < Earliest || d > Latest)
        {
            error = $"{name}: {d:yyyy-MM-dd} is outside the dates the centre holds ({Earliest:yyyy-MM-dd} to {Latest:yyyy-MM-dd}).";
            return false;
        }

        day = d;
        return true;
    }

    /// <summary>A value quoted back in an error: at most 40 characters, control characters escaped (<see cref="CareGateway.Protocol.LogText"/>).</summary>
    internal static string Shorten(string value) => CareGateway.Protocol.LogText.Escape(value.Length > 40 ? value[..40] + "…" : value);
}
