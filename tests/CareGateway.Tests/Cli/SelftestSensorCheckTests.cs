using System.Text.Json;
using CareGateway.Cli;
using CareGateway.Sensors;

namespace CareGateway.Tests.Cli;

/// <summary>selftest's check of one sensor from its retained report: a button that reads pressed at rest is not "ok".</summary>
public class SelftestSensorCheckTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 16, 4, 5, TimeSpan.Zero);
    private static readonly TimeZoneInfo Oslo = TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo");

    private static JsonElement Report(string state) =>
        JsonDocument.Parse($$"""{"state":"{{state}}","online":true,"lastSeen":"2026-12-07T16:03:48.0095654+00:00"}""").RootElement.Clone();

    private static SensorDefinition Sensor(SensorKind kind) => new() { Id = "s-1", Kind = kind, Room = "bedroom", Gpio = new() { HeaderPin = 13, Pull = PullMode.Up } };

    [Theory]
    [InlineData(SensorKind.Panic, "PRESSED AT REST")]
    [InlineData(SensorKind.CancelButton, "PRESSED AT REST")]
    [InlineData(SensorKind.Smoke, "ACTIVE AT REST")]
    [InlineData(SensorKind.Water, "ACTIVE AT REST")]
    public void A_button_or_detector_that_reads_active_at_rest_is_a_warning_that_says_what_to_check(SensorKind kind, string said)
    {
        var result = SelftestCommand.SensorResult(Sensor(kind), Report("active"), Now, Oslo, out var detail);

        Assert.Equal(SelftestCheck.Warning, result);
        Assert.Contains(said, detail, StringComparison.Ordinal);
        Assert.Contains("--wiring", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SensorKind.Panic, "inactive")]
    [InlineData(SensorKind.Door, "active")] // a door left open during the selftest is no fault
    [InlineData(SensorKind.Bed, "active")]
    public void A_sensor_at_rest_or_one_that_may_be_active_is_ok_with_its_last_report_in_local_time(SensorKind kind, string state)
    {
        var result = SelftestCommand.SensorResult(Sensor(kind), Report(state), Now, Oslo, out var detail);

        Assert.Equal(SelftestCheck.Ok, result);
        Assert.Equal("last seen 2026-12-07 17:03:48 +01:00 (16 s ago)", detail);
    }
}
