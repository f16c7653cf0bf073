using System.Text;
using System.Text.Json;
using CareGateway.Core.Commands;
using CareGateway.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>
/// <c>preview-care-profile</c>: a profile validated like a replacement and replayed over the gateway's own recording of
/// its recent sensor events, with the same engine and the same result as <c>care-gateway replay</c>; nothing applied.
/// </summary>
public class ProfilePreviewTests
{
    private static readonly string ProfilePath = RepoFiles.PathOf("docs", "examples", "replay", "profile.json");

    private static JsonElement Section(string path) =>
        JsonDocument.Parse(FileCareProfileStore.SectionOf(File.ReadAllBytes(path)) ?? File.ReadAllText(path)).RootElement;

    /// <summary>The sample week, as the gateway's recording would hold it, with the clock at its end.</summary>
    private static (RecentSensorEvents Recording, IReadOnlyList<Sensors.SensorDefinition> Sensors, List<ReplayInput> Inputs) RecordedWeek()
    {
        var (_, sensors) = Replay.LoadProfile(ProfilePath);
        using var reader = new StreamReader(RepoFiles.PathOf("docs", "examples", "replay", "week.jsonl"));
        var inputs = Replay.ReadEvents(reader, "week.jsonl", sensors);
        var clock = new FakeTimeProvider(inputs[0].At.AddMinutes(-1));
        var recording = new RecentSensorEvents(clock);
        foreach (var input in inputs.Where(i => i.Event is not null))
        {
            clock.SetUtcNow(input.At);
            recording.Add(input.Event!);
        }

        clock.SetUtcNow(inputs[^1].At);
        return (recording, sensors, inputs);
    }

    [Fact]
    public void A_valid_profile_gives_the_alarms_replay_gives_on_the_same_week_and_a_stricter_one_gives_more()
    {
        var (recording, sensors, inputs) = RecordedWeek();
        var (profile, _) = Replay.LoadProfile(ProfilePath);
        var expected = Replay.Run(profile, sensors, inputs.Where(i => i.Event is not null).ToList(), inputs[^1].At);

        var (preview, errors) = ProfilePreviewer.Preview(Section(ProfilePath), sensors, recording);

        Assert.Empty(errors);
        Assert.NotNull(preview);
        Assert.Equal(expected.Count, preview.AlarmCount);
        Assert.True(preview.AlarmCount >= 5, $"the sample week raises several alarms, got {preview.AlarmCount}");
        Assert.Equal(expected.Select(a => (a.Type, a.At.ToUniversalTime(), a.SensorId)), preview.Alarms.Select(a => (a.Type, a.At, a.SensorId)));
        Assert.Contains(preview.Alarms, a => a.Type == AlarmType.Wandering && a.SensorId == "door-front");
        Assert.Contains(preview.Alarms, a => a.Cancelled);
        Assert.Equal(inputs.Count(i => i.Event is not null), preview.Events);

        var (strict, _) = ProfilePreviewer.Preview(Section(RepoFiles.PathOf("docs", "examples", "replay", "profile-strict.json")), sensors, recording);
        Assert.True(strict!.AlarmCount > preview.AlarmCount, $"strict {strict.AlarmCount} vs {preview.AlarmCount}");
    }

    [Fact]
    public void A_bad_profile_is_named_field_by_field_and_nothing_is_replayed()
    {
        var (recording, sensors, _) = RecordedWeek();
        var bad = JsonDocument.Parse("""{ "timeZone": "Europe/Oslo", "nightWindow": { "start": "25:00", "end": "06:00" }, "wanderng": {} }""").RootElement;

        var (preview, errors) = ProfilePreviewer.Preview(bad, sensors, recording);

        Assert.Null(preview);
        Assert.Contains(errors, e => e.Contains("$.careProfile.nightWindow.start", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("wanderng", StringComparison.Ordinal) && e.Contains("wandering", StringComparison.Ordinal));
    }

    [Fact]
    public void The_recording_keeps_seven_days_and_says_what_it_covers()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
        var recording = new RecentSensorEvents(clock);
        for (var day = 0; day < 10; day++)
        {
            clock.SetUtcNow(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero).AddDays(day));
            recording.Add(new Sensors.SensorEvent("pir-1", Sensors.SensorKind.Motion, "hallway", true, clock.GetUtcNow()));
        }

        var (events, from, until) = recording.Snapshot();

        Assert.Equal(clock.GetUtcNow(), until);
        Assert.Equal(until - RecentSensorEvents.Keep, from);
        Assert.Equal(8, events.Count); // days 3..10: exactly seven days back is kept
        Assert.True(events.All(e => e.At >= from));
    }

    [Fact]
    public async Task The_command_answers_ok_with_the_preview_in_a_schema_valid_result_and_applies_nothing()
    {
        var (recording, sensors, _) = RecordedWeek();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero));
        var profiles = new RejectingStore();
        using var executor = new CommandExecutor("gw-1", null!, profiles, () => throw new InvalidOperationException(), new InMemoryCommandJournal(), clock,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, preview: section => ProfilePreviewer.Preview(section, sensors, recording));
        var command = new CommandMessage { CommandId = "cmd-preview", GatewayId = "gw-1", Command = CommandKind.PreviewCareProfile, SentAt = clock.GetUtcNow(), By = "operator-1", CareProfile = Section(ProfilePath) };

        var result = await executor.HandleAsync(CommandJson.Serialize(command), CancellationToken.None);

        Assert.NotNull(result);
        Assert.True(result.Status == CommandStatus.Ok, result.Reason);
        Assert.Contains("not applied", result.Reason, StringComparison.Ordinal);
        Assert.NotEmpty(result.Preview!.Alarms);
        Assert.Equal(0, profiles.Calls);
        SchemaValidation.AssertValid("command-result", Encoding.UTF8.GetString(CommandJson.Serialize(result)));
        SchemaValidation.AssertValid("command", Encoding.UTF8.GetString(CommandJson.Serialize(command)));
        Assert.True(CommandJson.TryParseResult(CommandJson.Serialize(result), out var parsed, out var error), error);
        Assert.Equal(result.Preview.AlarmCount, parsed.Preview!.AlarmCount);
    }

    private sealed class RejectingStore : ICareProfileStore
    {
        public int Calls { get; private set; }

        public IReadOnlyList<string> TryReplace(JsonElement careProfileSection)
        {
            Calls++;
            return ["not expected"];
        }
    }
}
