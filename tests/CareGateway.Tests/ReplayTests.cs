using CareGateway.Protocol;

namespace CareGateway.Tests;

public class ReplayTests
{
    private static FileInfo Example(string name) => new(RepoFiles.PathOf("docs", "examples", "replay", name));

    private static async Task<(int Code, string Output, string Error)> RunAsync(FileInfo profile, FileInfo events, DateTimeOffset? until = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ReplayCommand.RunAsync(profile, events, until, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task The_sample_week_yields_the_alarms_its_profile_should_raise_with_times_and_reasons()
    {
        var (code, output, error) = await RunAsync(Example("profile.json"), Example("week.jsonl"));

        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
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
        Assert.Equal(2, output.Split('\n').Count(l => l.Contains("  panic ", StringComparison.Ordinal)));
        Assert.Single(output.Split('\n'), l => l.Contains("  low-battery ", StringComparison.Ordinal));
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
}
