using CareGateway.Core;

namespace CareGateway.Tests;

/// <summary>Times and durations as a person reads them (status, selftest, replay): local time with offset, two units.</summary>
public class HumanTimeTests
{
    private static readonly TimeZoneInfo Oslo = TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo");

    [Theory]
    [InlineData("2026-12-07T16:04:05Z", "2026-12-07 17:04:05 +01:00")] // winter: CET
    [InlineData("2026-07-01T10:00:00Z", "2026-07-01 12:00:00 +02:00")] // summer: CEST
    [InlineData("2026-03-29T00:59:59Z", "2026-03-29 01:59:59 +01:00")] // the last second before the spring change
    [InlineData("2026-03-29T01:00:00Z", "2026-03-29 03:00:00 +02:00")] // 02:00 to 03:00 local: the hour that does not exist
    [InlineData("2026-10-25T00:30:00Z", "2026-10-25 02:30:00 +02:00")] // the first 02:30 of the October night ...
    [InlineData("2026-10-25T01:30:00Z", "2026-10-25 02:30:00 +01:00")] // ... and the second one: only the offset tells them apart
    public void A_moment_reads_as_local_time_in_oslo_with_the_offset_in_force(string utc, string expected)
    {
        Assert.Equal(expected, HumanTime.Local(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), Oslo));
        Assert.Equal(expected, HumanTime.Local(utc, Oslo));
    }

    [Fact]
    public void A_published_time_with_seven_decimals_reads_to_the_second_and_text_that_is_no_time_stays_as_it_is()
    {
        Assert.Equal("2026-12-07 17:04:05 +01:00", HumanTime.Local("2026-12-07T16:04:05.9904346+00:00", Oslo));
        Assert.Equal("soon", HumanTime.Local("soon", Oslo));
        Assert.Equal("?", HumanTime.Local((string?)null, Oslo));
    }

    [Theory]
    [InlineData(0, "0 s")]
    [InlineData(812, "812 ms")]
    [InlineData(999, "999 ms")]
    [InlineData(1_000, "1 s")]
    [InlineData(16_990, "16 s")]
    [InlineData(17_000, "17 s")]
    [InlineData(60_000, "1 min")]
    [InlineData(290_000, "4 min 50 s")]
    [InlineData(3_600_000, "1 h")]
    [InlineData(7_500_000, "2 h 5 min")]
    [InlineData(86_400_000, "1 d")]
    [InlineData(273_600_000, "3 d 4 h")]
    [InlineData(812_256, "13 min 32 s")]
    [InlineData(-17_000, "-17 s")]
    public void A_duration_reads_in_its_two_largest_units(long milliseconds, string expected) =>
        Assert.Equal(expected, HumanTime.Duration(TimeSpan.FromMilliseconds(milliseconds)));

    [Fact]
    public void Across_the_spring_change_the_duration_is_the_time_that_passed_not_the_difference_of_the_wall_clocks()
    {
        var before = DateTimeOffset.Parse("2026-03-29T00:30:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var after = before.AddHours(1);
        Assert.Equal("2026-03-29 01:30:00 +01:00", HumanTime.Local(before, Oslo));
        Assert.Equal("2026-03-29 03:30:00 +02:00", HumanTime.Local(after, Oslo));
        Assert.Equal("1 h", HumanTime.Duration(after - before));
        Assert.Equal("-" + HumanTime.Duration(TimeSpan.MaxValue), HumanTime.Duration(TimeSpan.MinValue));
    }
}
