using System.Globalization;

namespace CareGateway.Core;

/// <summary>
/// Times and durations as a person reads them on the command line: a moment as local time with its offset in the care
/// profile's zone (<c>careProfile.timeZone</c>, Europe/Oslo by default), for example "2026-12-07 17:04:05 +01:00"
/// (the offset tells the two 02:30 of the October night apart); a duration in its two largest units, for example
/// "812 ms", "17 s", "4 min 50 s", "2 h 5 min", "3 d 4 h". Output for scripts (<c>--json</c>) keeps ISO 8601 UTC and
/// seconds as numbers instead.
/// </summary>
public static class HumanTime
{
    /// <summary><paramref name="at"/> as local time in <paramref name="zone"/>, with the offset in force then.</summary>
    public static string Local(DateTimeOffset at, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        return TimeZoneInfo.ConvertTime(at, zone).ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// An ISO 8601 time (as the gateway publishes it) as local time in <paramref name="zone"/>; text that is not a time is
    /// given back as it is, so a person still sees what was reported.
    /// </summary>
    public static string Local(string? iso, TimeZoneInfo zone) =>
        iso is not null && DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
            ? Local(at, zone)
            : iso ?? "?";

    /// <summary>
    /// <paramref name="span"/> in its two largest units, rounded down: "812 ms" under a second, "17 s", "4 min 50 s",
    /// "2 h 5 min", "3 d 4 h" (a zero second unit is left out: "5 min", "2 h"). A negative span gets a minus sign.
    /// </summary>
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            return "-" + Duration(span == TimeSpan.MinValue ? TimeSpan.MaxValue : span.Negate());
        }

        static string Two(long big, string bigUnit, long small, string smallUnit) =>
            small == 0
                ? string.Create(CultureInfo.InvariantCulture, $"{big} {bigUnit}")
                : string.Create(CultureInfo.InvariantCulture, $"{big} {bigUnit} {small} {smallUnit}");

        if (span == TimeSpan.Zero)
        {
            return "0 s";
        }

        if (span < TimeSpan.FromSeconds(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(long)span.TotalMilliseconds} ms");
        }

        if (span < TimeSpan.FromMinutes(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{span.Seconds} s");
        }

        if (span < TimeSpan.FromHours(1))
        {
            return Two(span.Minutes, "min", span.Seconds, "s");
        }

        return span < TimeSpan.FromDays(1) ? Two(span.Hours, "h", span.Minutes, "min") : Two(span.Days, "d", span.Hours, "h");
    }
}
