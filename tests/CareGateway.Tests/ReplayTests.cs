using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway.Tests;

public class ReplayTests
{
    private static FileInfo Example(string name) => new(RepoFiles.PathOf("docs", "examples", "replay", name));

    private static async Task<(int Code, string Output, string Error)> RunAsync(FileInfo profile, FileInfo events, DateTimeOffset? until = null, bool json = false, FileInfo? compare = null, FileInfo? svg = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ReplayCommand.RunAsync(profile, events, until, output, error, null, json, compare, svg);
        return (code, output.ToString(), error.ToString());
    }

    private static DateTimeOffset Oslo(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_sample_week_yields_the_alarms_its_profile_should_raise_with_times_and_reasons()
    {
        var (code, output, error) = await RunAsync(Example("profile.json"), Example("week.jsonl"));

        Assert.True(code == 0, error);
        // The alarm table ends with its count; the near misses and the counts per night follow.
        var all = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var lines = all[..(Array.FindIndex(all, l => l.EndsWith("not-up.", StringComparison.Ordinal)) + 1)];
        string[] expected =
        [
            "2026-11-26 03:10:00 +01:00  bed-exit ",
            "2026-11-27 02:18:00 +01:00  bed-exit ",
            "2026-11-27 02:19:00 +01:00  wandering ",
            "2026-11-27 14:45:30 +01:00  bathroom-stay ",
            "2026-11-29 01:35:00 +01:00  bed-exit (cancelled) ",
            "2026-11-29 12:00:00 +01:00  low-battery ",
            "2026-11-30 10:00:00 +01:00  not-up ",
        ];
        Assert.Equal(expected.Length + 2, lines.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.StartsWith(expected[i], lines[i + 1], StringComparison.Ordinal);
        }

        Assert.Contains("Outer door opened at 02:14 in the night window 22:00-06:00", lines[3], StringComparison.Ordinal);
        Assert.Equal("7 alarms: 3 bed-exit, 1 wandering, 1 bathroom-stay, 1 low-battery, 1 not-up.", lines[^1]);
    }

    [Fact]
    public async Task A_zigbee2mqtt_log_recorded_with_mosquitto_sub_replays_too()
    {
        var (code, output, error) = await RunAsync(Example("profile.json"), Example("z2m-night.log"));

        Assert.True(code == 0, error);
        Assert.Contains("2026-11-25 02:18:40 +01:00  bed-exit ", output, StringComparison.Ordinal);
        Assert.Contains("2026-11-25 02:19:02 +01:00  wandering ", output, StringComparison.Ordinal);
        Assert.Contains("2026-11-25 03:00:00 +01:00  sensor-offline           pir-bath", output, StringComparison.Ordinal);
        Assert.Contains("3 alarms", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zigbee2mqtt_repeats_of_cached_values_and_quick_button_presses_replay_as_transitions_only()
    {
        using var dir = new TempDir();
        var events = new FileInfo(dir.File("z.log"));
        await File.WriteAllTextAsync(events.FullName, """
            2026-11-24T14:00:00+0100 zigbee2mqtt/panic-1 {"action":"single","battery":70}
            2026-11-24T14:00:00+0100 zigbee2mqtt/panic-1 {"action":"","battery":70}
            2026-11-24T14:00:00+0100 zigbee2mqtt/panic-1 {"action":"single","battery":70}
            2026-11-24T14:05:00+0100 zigbee2mqtt/door-front {"contact":true,"battery":80}
            2026-11-24T14:06:00+0100 zigbee2mqtt/door-front {"contact":true,"battery":79}
            2026-11-24T14:07:00+0100 zigbee2mqtt/door-front {"contact":true,"battery_low":true}
            2026-11-24T14:08:00+0100 zigbee2mqtt/door-front {"contact":true,"battery_low":true}
            2026-11-24T14:09:00+0100 zigbee2mqtt/kettle {"power":1800}
            2026-11-24T14:10:00+0100 zigbee2mqtt/panic-1 {"action":3}
            """);

        var (code, output, error) = await RunAsync(Example("profile.json"), events);

        Assert.Equal(2, code);
        Assert.Contains("z.log line 9:", error, StringComparison.Ordinal);

        await File.WriteAllLinesAsync(events.FullName, (await File.ReadAllLinesAsync(events.FullName))[..^1]);
        (code, output, error) = await RunAsync(Example("profile.json"), events);

        Assert.True(code == 0, error);
        // Alarm lines (the table per night below has a column of each type too).
        Assert.Equal(2, output.Split('\n').Count(l => l.Contains("+01:00  panic ", StringComparison.Ordinal)));
        Assert.Single(output.Split('\n'), l => l.Contains("+01:00  low-battery ", StringComparison.Ordinal));
        Assert.Contains("3 alarms", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Until_lets_the_timers_run_past_the_last_event()
    {
        using var dir = new TempDir();
        var events = new FileInfo(dir.File("e.jsonl"));
        await File.WriteAllTextAsync(events.FullName, """{"at":"2026-11-24T02:14:00+01:00","sensor":"door-front","active":true}""");

        var (_, without, _) = await RunAsync(Example("profile.json"), events);
        var (_, with, _) = await RunAsync(Example("profile.json"), events, DateTimeOffset.Parse("2026-11-24T03:00:00+01:00", System.Globalization.CultureInfo.InvariantCulture));

        Assert.Contains("No alarms.", without, StringComparison.Ordinal);
        Assert.Contains("2026-11-24 02:19:00 +01:00  wandering", with, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"at":"2026-11-24T02:14:00+01:00","sensor":"door-back","active":true}""", "e.jsonl line 2: sensor 'door-back' is not in the profile's sensors")]
    [InlineData("""{"at":"2026-11-24T02:14:00+01:00","sensor":"door-front"}""", "e.jsonl line 2: event of sensor 'door-front' has neither 'active' nor 'health'")]
    [InlineData("""{"at":"2026-11-24T02:14:00+01:00","command":"vacation"}""", "e.jsonl line 2: command 'vacation' is not known")]
    [InlineData("""{"at":"2026-11-24T01:00:00+01:00","sensor":"door-front","active":true}""", "e.jsonl line 2: time 2026-11-24T01:00:00.0000000+01:00 is before the previous line's")]
    [InlineData("""{"at":"yesterday","sensor":"door-front","active":true}""", "e.jsonl line 2: ")]
    [InlineData("""2026-11-24 zigbee2mqtt/door-front""", "e.jsonl line 2: expected a normalized JSON event or 'TIME TOPIC PAYLOAD'")]
    public async Task A_bad_line_in_a_recording_is_reported_with_its_line_number(string line, string expected)
    {
        using var dir = new TempDir();
        var events = new FileInfo(dir.File("e.jsonl"));
        await File.WriteAllTextAsync(events.FullName, """{"at":"2026-11-24T02:00:00+01:00","sensor":"bed-1","active":true}""" + "\n" + line + "\n");

        var (code, _, error) = await RunAsync(Example("profile.json"), events);

        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_profile_is_reported_with_its_field_path()
    {
        using var dir = new TempDir();
        var profile = new FileInfo(dir.File("p.json"));
        await File.WriteAllTextAsync(profile.FullName, """{ "careProfile": { "bedExit": { "minInBedMinutes": 999 } }, "sensors": [] }""");

        var (code, _, error) = await RunAsync(profile, Example("week.jsonl"));

        Assert.Equal(2, code);
        Assert.Contains("$.careProfile.bedExit.minInBedMinutes: 999 is outside 0-240 minutes", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gateway_configuration_works_as_the_profile()
    {
        using var dir = new TempDir();
        var events = new FileInfo(dir.File("e.jsonl"));
        await File.WriteAllTextAsync(events.FullName, """
            {"at":"2026-11-24T02:14:00+01:00","sensor":"door-front","active":true}
            {"at":"2026-11-24T02:14:05+01:00","sensor":"panic-bedroom","active":true}
            """);

        var (code, output, error) = await RunAsync(new FileInfo(RepoFiles.PathOf("docs", "examples", "gateway.json")), events, DateTimeOffset.Parse("2026-11-24T03:00:00+01:00", System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(code == 0, error);
        Assert.Contains($"  {AlarmType.Panic} ", output, StringComparison.Ordinal);
        Assert.Contains($"  {AlarmType.Wandering} ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sample_week_names_its_near_misses_in_words_and_counts_each_rule_per_night()
    {
        var (code, output, error) = await RunAsync(Example("profile.json"), Example("week.jsonl"));

        Assert.True(code == 0, error);
        // 25 Nov: out of bed 02:10, back 02:14: 4 of the 5 minutes, the last 20 %.
        Assert.Contains("2026-11-25 02:14:00 +01:00  near miss: bed-exit - back in bed after 4 min, 1 min short of the 5 min limit (bed-1, bedroom)", output, StringComparison.Ordinal);
        Assert.Contains("2026-11-30 10:29:00 +01:00  near miss: inactivity - activity again after 11 h 59 min, 1 min short of the 12 h limit", output, StringComparison.Ordinal);
        Assert.Contains("2 near misses (a timed rule ended within the last 20 % of its limit):", output, StringComparison.Ordinal);

        var table = output[output.IndexOf("Alarms per night", StringComparison.Ordinal)..].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = table[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["night", "bed-exit", "wandering", "bathroom-stay", "low-battery", "not-up", "inactivity"], header);
        Assert.Equal(2 + 7, table.Length); // the title, the header, 23 to 29 November
        // The night of the 24th (into the 25th) had the near miss; the 26th (into the 27th) a bed-exit and the wandering.
        Assert.StartsWith("2026-11-24 Tue  0 +1 near  0", table[3], StringComparison.Ordinal);
        Assert.Equal(["2026-11-26", "Thu", "1", "1", "0", "0", "0", "0"], table[5].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Json_output_has_the_alarms_near_misses_and_counts_per_night()
    {
        var (code, output, error) = await RunAsync(Example("profile.json"), Example("week.jsonl"), json: true);

        Assert.True(code == 0, error);
        var doc = JsonNode.Parse(output)!;
        Assert.Equal(7, doc["alarms"]!.AsArray().Count);
        Assert.Equal(0.2, doc["nearMissFraction"]!.GetValue<double>());

        var misses = doc["nearMisses"]!.AsArray();
        Assert.Equal(2, misses.Count);
        var bed = misses[0]!;
        Assert.Equal(("bed-exit", "bed-1", "2026-11-25T02:14:00+01:00", "2026-11-25T02:10:00+01:00"), (bed["type"]!.GetValue<string>(), bed["sensor"]!.GetValue<string>(), bed["at"]!.GetValue<string>(), bed["since"]!.GetValue<string>()));
        Assert.Equal((240.0, 300.0, 60.0), (bed["elapsedSeconds"]!.GetValue<double>(), bed["limitSeconds"]!.GetValue<double>(), bed["shortSeconds"]!.GetValue<double>()));
        Assert.StartsWith("near miss: bed-exit - back in bed after 4 min", bed["text"]!.GetValue<string>(), StringComparison.Ordinal);

        var nights = doc["nights"]!.AsArray();
        Assert.Equal(["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29"], nights.Select(n => n!["night"]!.GetValue<string>()));
        var night26 = nights[3]!;
        Assert.Equal(1, night26["alarms"]!["wandering"]!.GetValue<int>());
        Assert.Equal(1, night26["alarms"]!["bed-exit"]!.GetValue<int>());
        Assert.Equal(1, nights[1]!["nearMisses"]!["bed-exit"]!.GetValue<int>());
        Assert.Equal(7, nights.Sum(n => n!["alarms"]!.AsObject().Sum(c => c.Value!.GetValue<int>())));
        Assert.Null(doc["compare"]);
    }

    [Fact]
    public async Task Compare_lists_the_alarms_only_one_profile_raises_in_text_and_json()
    {
        var (code, output, error) = await RunAsync(Example("profile.json"), Example("week.jsonl"), compare: Example("profile-strict.json"));

        Assert.True(code == 0, error);
        var section = output[output.IndexOf("Compared with profile-strict.json", StringComparison.Ordinal)..];
        Assert.Contains("Only with profile.json: none.", section, StringComparison.Ordinal);
        // The strict 4 min bed-exit limit turns the 25 November near miss into an alarm; the rest are the same alarms, earlier.
        Assert.Contains("Only with profile-strict.json: 1\n  2026-11-25 02:14:00 +01:00  bed-exit                 bed-1 ", section.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("2026-11-29 01:35:00 +01:00  bed-exit                 bed-1          cancelled with profile.json, raised with profile-strict.json", section, StringComparison.Ordinal);
        Assert.DoesNotContain("wandering", section, StringComparison.Ordinal);

        (code, output, error) = await RunAsync(Example("profile.json"), Example("week.jsonl"), json: true, compare: Example("profile-strict.json"));
        Assert.True(code == 0, error);
        var compare = JsonNode.Parse(output)!["compare"]!;
        Assert.Equal("profile-strict.json", compare["other"]!.GetValue<string>());
        Assert.Empty(compare["onlyThis"]!.AsArray());
        var only = Assert.Single(compare["onlyOther"]!.AsArray())!;
        Assert.Equal(("bed-exit", "bed-1", "2026-11-25T02:14:00+01:00"), (only["type"]!.GetValue<string>(), only["sensor"]!.GetValue<string>(), only["at"]!.GetValue<string>()));
        var differs = Assert.Single(compare["cancelledInOne"]!.AsArray())!;
        Assert.True(differs["this"]!["cancelled"]!.GetValue<bool>());
        Assert.False(differs["other"]!["cancelled"]!.GetValue<bool>());

        // Swapped, the same alarm is on the other side.
        (_, output, _) = await RunAsync(Example("profile-strict.json"), Example("week.jsonl"), json: true, compare: Example("profile.json"));
        Assert.Single(JsonNode.Parse(output)!["compare"]!["onlyThis"]!.AsArray());
    }

    [Fact]
    public async Task A_missing_compare_profile_or_svg_folder_is_bad_input_with_a_clear_message()
    {
        using var dir = new TempDir();
        var (code, output, error) = await RunAsync(Example("profile.json"), Example("week.jsonl"), compare: new FileInfo(dir.File("nope.json")));

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Contains("--compare: the file ", error, StringComparison.Ordinal);
        Assert.Contains("nope.json does not exist", error, StringComparison.Ordinal);

        (code, _, error) = await RunAsync(Example("profile.json"), Example("week.jsonl"), svg: new FileInfo(Path.Combine(dir.File("no-folder"), "t.svg")));
        Assert.Equal(2, code);
        Assert.Contains("--svg: the folder ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_svg_timeline_is_xml_with_a_lane_per_sensor_a_mark_per_alarm_and_a_tick_per_day()
    {
        using var dir = new TempDir();
        var svg = new FileInfo(dir.File("week.svg"));
        var (code, output, error) = await RunAsync(Example("profile.json"), Example("week.jsonl"), svg: svg);

        Assert.True(code == 0, error);
        Assert.Contains("Timeline written to ", output, StringComparison.Ordinal);
        var doc = XDocument.Load(svg.FullName);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", doc.Root!.Name);
        static bool Has(XElement e, string cls) => ((string?)e.Attribute("class"))?.Split(' ').Contains(cls) == true;

        var alarms = doc.Descendants(ns + "circle").Where(e => Has(e, "alarm")).ToList();
        Assert.Equal(7, alarms.Count);
        var titles = alarms.Select(a => a.Element(ns + "title")!.Value).ToList();
        Assert.Contains(titles, t => t.StartsWith("wandering at 2026-11-27 02:19:00 +01:00", StringComparison.Ordinal));
        Assert.Contains(titles, t => t.StartsWith("bed-exit (cancelled) at 2026-11-29 01:35:00 +01:00", StringComparison.Ordinal));
        Assert.Single(alarms, a => Has(a, "cancelled"));
        Assert.Equal(2, doc.Descendants(ns + "circle").Count(e => Has(e, "near-miss")));

        var lanes = doc.Descendants(ns + "g").Where(e => Has(e, "sensor")).Select(e => (string?)e.Attribute("data-sensor")).ToList();
        Assert.Equal(["home", "door-front", "bed-1", "pir-bath", "pir-hall", "pir-kitchen", "panic-1", "cancel-1"], lanes);
        var bedLane = doc.Descendants(ns + "g").Single(e => (string?)e.Attribute("data-sensor") == "bed-1");
        Assert.Contains(bedLane.Descendants(ns + "title"), t => t.Value.StartsWith("bed-1 active 2026-11-23 22:30:00 +01:00 to 2026-11-24 07:00:00 +01:00", StringComparison.Ordinal));

        // Midnights from 23 Nov to 1 Dec, the end of the last day.
        var ticks = doc.Descendants(ns + "text").Where(e => Has(e, "tick-label")).Select(e => e.Value).ToList();
        Assert.Equal(9, ticks.Count);
        Assert.Equal("Mon 2026-11-23", ticks[0]);
    }

    [Fact]
    public async Task The_svg_holds_one_alarm_mark_for_every_alarm_of_a_zigbee2mqtt_night_too()
    {
        using var dir = new TempDir();
        var svg = new FileInfo(dir.File("night.svg"));
        var (code, _, error) = await RunAsync(Example("profile.json"), Example("z2m-night.log"), svg: svg);

        Assert.True(code == 0, error);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(3, XDocument.Load(svg.FullName).Descendants(ns + "circle").Count(e => ((string)e.Attribute("class")!).Split(' ').Contains("alarm")));
    }

    private static readonly SensorDefinition Door = new() { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", OuterDoor = true };
    private static readonly SensorDefinition Hall = new() { Id = "pir-hall", Kind = SensorKind.Motion, Room = "hallway" };

    private static SensorEvent Ev(SensorDefinition s, bool active, DateTimeOffset at) => new(s.Id, s.Kind, s.Room, active, at);

    [Fact]
    public void Movement_inside_ten_seconds_before_the_wandering_grace_ends_is_a_near_miss_10_s_short()
    {
        var engine = new RuleEngine(new CareProfile(), [Door, Hall]);
        var opened = Oslo("2026-11-24T02:14:00+01:00");
        var grace = TimeSpan.FromMinutes(new CareProfile().Wandering.GraceMinutes);

        Assert.Empty(engine.OnEvent(Ev(Door, true, opened)));
        Assert.Empty(engine.OnEvent(Ev(Door, false, opened.AddSeconds(30))));
        Assert.Empty(engine.TakeNearMisses());
        Assert.Empty(engine.OnEvent(Ev(Hall, true, opened + grace - TimeSpan.FromSeconds(10))));

        var miss = Assert.Single(engine.TakeNearMisses());
        Assert.Equal((AlarmType.Wandering, "door-front", opened, grace, TimeSpan.FromSeconds(10)), (miss.Type, miss.SensorId, miss.Since, miss.Limit, miss.ShortBy));
        Assert.Equal($"near miss: wandering - back after {HumanTime.Duration(grace - TimeSpan.FromSeconds(10))}, 10 s short of the {HumanTime.Duration(grace)} limit", miss.Describe());
        Assert.Empty(engine.TakeNearMisses()); // taken once
        Assert.DoesNotContain(engine.OnTime(opened + grace + TimeSpan.FromMinutes(1)), a => a.Type == AlarmType.Wandering); // the timer is gone
    }

    [Fact]
    public void A_return_early_in_the_grace_or_after_the_alarm_is_no_near_miss()
    {
        var opened = Oslo("2026-11-24T02:14:00+01:00");
        var grace = TimeSpan.FromMinutes(new CareProfile().Wandering.GraceMinutes);

        // Back at 79 % of the grace: not in the last 20 %.
        var early = new RuleEngine(new CareProfile(), [Door, Hall]);
        early.OnEvent(Ev(Door, true, opened));
        early.OnEvent(Ev(Door, false, opened.AddSeconds(5)));
        early.OnEvent(Ev(Hall, true, opened + (grace * 0.79)));
        Assert.Empty(early.TakeNearMisses());

        // Back at exactly the limit: the alarm, not a near miss.
        var late = new RuleEngine(new CareProfile(), [Door, Hall]);
        late.OnEvent(Ev(Door, true, opened));
        late.OnEvent(Ev(Door, false, opened.AddSeconds(5)));
        var alarm = Assert.Single(late.OnEvent(Ev(Hall, true, opened + grace)));
        Assert.Equal(AlarmType.Wandering, alarm.Type);
        Assert.Empty(late.TakeNearMisses());
    }

    [Fact]
    public void Near_misses_change_no_decision_and_are_not_saved()
    {
        var opened = Oslo("2026-11-24T02:14:00+01:00");
        var engine = new RuleEngine(new CareProfile(), [Door, Hall]);
        engine.OnEvent(Ev(Door, true, opened));
        engine.OnEvent(Ev(Door, false, opened.AddSeconds(5)));
        engine.OnEvent(Ev(Hall, true, opened.AddMinutes(4.5)));

        var restored = new RuleEngine(new CareProfile(), [Door, Hall]);
        restored.Restore(engine.Snapshot());
        Assert.Empty(restored.TakeNearMisses());
        Assert.Single(engine.TakeNearMisses());
        Assert.Equal(engine.Snapshot().ToJson(), restored.Snapshot().ToJson());
    }

    [Fact]
    public void Leaving_the_bathroom_and_getting_back_into_bed_late_are_near_misses_with_what_was_missing()
    {
        var bath = new SensorDefinition { Id = "pir-bath", Kind = SensorKind.Motion, Room = "bathroom" };
        var bed = new SensorDefinition { Id = "bed-1", Kind = SensorKind.Bed, Room = "bedroom" };
        var profile = new CareProfile { BathroomStay = new BathroomStayRule { Enabled = true, MaxMinutes = 60 } };
        var engine = new RuleEngine(profile, [bath, bed, Hall]);
        var t = Oslo("2026-11-24T14:00:00+01:00");

        engine.OnEvent(Ev(bath, true, t));
        engine.OnEvent(Ev(bath, false, t.AddMinutes(1)));
        engine.OnEvent(Ev(Hall, true, t.AddMinutes(55)));
        var stay = Assert.Single(engine.TakeNearMisses());
        Assert.Equal((AlarmType.BathroomStay, "pir-bath", TimeSpan.FromMinutes(5)), (stay.Type, stay.SensorId, stay.ShortBy));
        Assert.Equal("near miss: bathroom-stay - out of the bathroom after 55 min, 5 min short of the 1 h limit", stay.Describe());

        // At night: in bed at 22:30, up at 02:00, back 50 s before the default 5 min are up.
        var maxAbsent = TimeSpan.FromMinutes(profile.BedExit.MaxAbsentMinutes);
        var night = Oslo("2026-11-24T22:30:00+01:00");
        engine.OnEvent(Ev(bed, true, night));
        engine.OnEvent(Ev(bed, false, night.AddHours(3.5)));
        Assert.Empty(engine.OnEvent(Ev(bed, true, night.AddHours(3.5) + maxAbsent - TimeSpan.FromSeconds(50))));
        var back = Assert.Single(engine.TakeNearMisses(), m => m.Type == AlarmType.BedExit);
        Assert.Equal(("bed-1", TimeSpan.FromSeconds(50)), (back.SensorId, back.ShortBy));
        Assert.Contains("back in bed after", back.Describe(), StringComparison.Ordinal);
    }
}
