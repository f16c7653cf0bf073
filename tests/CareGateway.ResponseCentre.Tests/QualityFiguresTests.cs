using System.Text.Json;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Figures;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Tests;

public sealed class QualityFiguresTests
{
    private static readonly TimeZoneInfo Oslo = TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo");
    private static readonly DateTimeOffset Monday = new(2026, 11, 23, 0, 0, 0, TimeSpan.FromHours(1)); // local midnight in Oslo

    private static StoredAlarm Handled(string id, string gateway, string type, DateTimeOffset raised, int receiveS, int? acceptS, int? closeS, string? outcome = null, AlarmState state = AlarmState.Raised) =>
        StoreContractTests.Alarm(id, gateway, type: type, raised: raised, state: state) with
        {
            ReceivedAt = raised.AddSeconds(receiveS),
            AcceptedAt = acceptS is { } a ? raised.AddSeconds(a) : null,
            Status = closeS is not null ? HandlingStatus.Closed : acceptS is not null ? HandlingStatus.Accepted : HandlingStatus.Received,
            ClosedAt = closeS is { } c ? raised.AddSeconds(c) : null,
            Outcome = outcome,
        };

    private static readonly Dictionary<string, GatewayRecord> Homes = new(StringComparer.Ordinal)
    {
        ["gw-n1"] = new GatewayRecord { GatewayId = "gw-n1", HomeGroup = "Nord" },
        ["gw-n2"] = new GatewayRecord { GatewayId = "gw-n2", HomeGroup = "Nord" },
        ["gw-s1"] = new GatewayRecord { GatewayId = "gw-s1", HomeGroup = "Sør" },
    };

    private static readonly StoredAlarm[] Alarms =
    [
        Handled("1", "gw-n1", AlarmType.Fall, Monday.AddHours(2), 1, 30, 600, CloseOutcome.Handled),
        Handled("2", "gw-n2", AlarmType.Panic, Monday.AddHours(3), 3, 60, 300, CloseOutcome.FalseAlarm),
        Handled("3", "gw-n1", AlarmType.BedExit, Monday.AddHours(4), 2, null, null, state: AlarmState.Cancelled),
        Handled("4", "gw-s1", AlarmType.Fall, Monday.AddDays(1).AddHours(1), 5, 90, null),
        Handled("5", "gw-s1", AlarmType.LowBattery, Monday.AddDays(8), 1, 100, 200, CloseOutcome.Technical),
    ];

    [Fact]
    public void Figures_by_week_and_group_count_types_times_shares_and_availability()
    {
        GatewayEvent[] events =
        [
            new("gw-n1", Monday.AddDays(-1), true),
            new("gw-n1", Monday.AddDays(1), false),  // offline from Tuesday 00:00 ...
            new("gw-n1", Monday.AddDays(1).AddHours(12), true), // ... to 12:00: 12 h of 7 days
            new("gw-s1", Monday, true),
        ];
        var report = QualityFigures.Compute(Alarms, events, Homes, Monday, Monday.AddDays(14), FigurePeriod.Week, null, Oslo, Monday.AddDays(30));

        var allWeek1 = Assert.Single(report.Rows, r => r.Group == QualityFigures.AllGroups && r.PeriodStart == Monday);
        Assert.Equal(4, allWeek1.Alarms);
        Assert.Equal(2, allWeek1.ByType[AlarmType.Fall]);
        Assert.Equal(1, allWeek1.ByType[AlarmType.BedExit]);
        Assert.Equal(new DurationFigure(4, 2.5, 4.4), allWeek1.TimeToReceive);
        Assert.Equal(3, allWeek1.TimeToAccept.Count);
        Assert.Equal(60, allWeek1.TimeToAccept.MedianSeconds);
        Assert.Equal(new DurationFigure(2, 450, 570), allWeek1.TimeToClose);
        Assert.Equal(1, allWeek1.CancelledLocally);
        Assert.Equal(0.25, allWeek1.ShareCancelledLocally);
        Assert.Equal(0.5, allWeek1.ShareFalseAlarm);

        var nord = Assert.Single(report.Rows, r => r.Group == "Nord" && r.PeriodStart == Monday);
        Assert.Equal(3, nord.Alarms);
        Assert.Equal(1 - (12.0 / (7 * 24)), nord.GatewayAvailability!.Value, 6);
        var sor = Assert.Single(report.Rows, r => r.Group == "Sør" && r.PeriodStart == Monday);
        Assert.Equal(1.0, sor.GatewayAvailability);
        Assert.Null(sor.ShareFalseAlarm); // nothing closed in Sør that week

        var week2 = Assert.Single(report.Rows, r => r.Group == QualityFigures.AllGroups && r.PeriodStart == Monday.AddDays(7));
        Assert.Equal(1, week2.Alarms);
        Assert.Null(week2.ShareCancelledLocally); // no care alarms, only a technical one
    }

    [Fact]
    public void One_group_and_days_give_one_row_per_day_of_that_group_only()
    {
        var report = QualityFigures.Compute(Alarms, [], Homes, Monday, Monday.AddDays(2), FigurePeriod.Day, "Sør", Oslo, Monday.AddDays(30));
        Assert.Equal(2, report.Rows.Count);
        Assert.All(report.Rows, r => Assert.Equal("Sør", r.Group));
        Assert.Equal([0, 1], report.Rows.Select(r => r.Alarms));
        Assert.Null(report.Rows[0].GatewayAvailability);
    }

    [Fact]
    public void Csv_and_json_exports_carry_the_same_rows()
    {
        var report = QualityFigures.Compute(Alarms, [], Homes, Monday, Monday.AddDays(7), FigurePeriod.Week, null, Oslo, Monday.AddDays(30));
        var lines = QualityFigures.ToCsv(report).TrimEnd('\n').Split('\n');
        Assert.StartsWith("period_start,period_end,group,alarms,", lines[0], StringComparison.Ordinal);
        Assert.Contains("type_fall", lines[0], StringComparison.Ordinal);
        Assert.Equal(report.Rows.Count + 1, lines.Length);
        Assert.StartsWith("2026-11-23T00:00:00+01:00,2026-11-30T00:00:00+01:00,all,4,4,2.5,", lines[1], StringComparison.Ordinal);

        using var json = JsonDocument.Parse(QualityFigures.ToJson(report));
        var rows = json.RootElement.GetProperty("rows");
        Assert.Equal(report.Rows.Count, rows.GetArrayLength());
        Assert.Equal(0.5, rows[0].GetProperty("shareFalseAlarm").GetDouble());
        Assert.Equal(2, rows[0].GetProperty("byType").GetProperty("fall").GetInt32());
    }

    [Fact]
    public void Weeks_start_on_monday_and_months_on_the_first_in_the_centres_zone()
    {
        var sunday = new DateTimeOffset(2026, 11, 29, 23, 30, 0, TimeSpan.FromHours(1));
        Assert.Equal(Monday, FigurePeriods.StartOf(FigurePeriod.Week, sunday, Oslo));
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.FromHours(1)), FigurePeriods.StartOf(FigurePeriod.Month, sunday, Oslo));
        // Across the change to summer time the next day still starts at local midnight.
        var beforeDst = new DateTimeOffset(2026, 3, 29, 0, 0, 0, TimeSpan.FromHours(1));
        Assert.Equal(new DateTimeOffset(2026, 3, 30, 0, 0, 0, TimeSpan.FromHours(2)), FigurePeriods.Next(FigurePeriod.Day, beforeDst, Oslo));
    }

    [Theory]
    [InlineData("Nord", "Nord")]
    [InlineData("=1+1", "'=1+1")] // quoting alone is not enough: spreadsheets evaluate "=1+1" as well
    [InlineData("+47 999", "'+47 999")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\t=1", "'\t=1")]
    [InlineData("=A1,B1", "\"'=A1,B1\"")]
    [InlineData("sa \"hei\"", "\"sa \"\"hei\"\"\"")]
    public void A_csv_cell_is_never_a_formula(string text, string cell) => Assert.Equal(cell, QualityFigures.CsvCell(text));

    [Fact]
    public void A_period_without_alarms_shows_a_dash_in_the_chart_not_zero_seconds()
    {
        var svg = FiguresPage.BarChart([("01.12", 42), ("08.12", double.NaN)], v => $"{v:0} s");
        Assert.Contains(">42 s<", svg, StringComparison.Ordinal);
        Assert.Contains(">–<", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", svg, StringComparison.Ordinal);
        Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(svg, "<rect "));
    }
}
