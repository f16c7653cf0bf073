using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using CareGateway.Core;
using CareGateway.Core.Commands;
using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

public class CommandTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static readonly DiagnosticsReport SomeDiagnostics = new()
    {
        UptimeSeconds = 120,
        PendingAlarms = 2,
        LastSeq = 7,
        Connection = "connected",
        Transport = "mqtt",
        SoftwareVersion = "0.1.0",
        SensorCount = 3,
    };

    [Fact]
    public async Task A_test_alarm_command_raises_a_test_alarm_through_the_normal_pipeline_and_answers_ok_with_its_id()
    {
        using var f = new Fixture();

        var result = await f.Executor.ExecuteAsync(Command(CommandKind.TestAlarm, "cmd-1"), CancellationToken.None);

        Assert.Equal((CommandStatus.Ok, "cmd-1", "gw-1", CommandKind.TestAlarm), (result.Status, result.CommandId, result.GatewayId, result.Command));
        var stored = Assert.Single(f.Outbox.Alarms);
        Assert.Equal(stored.AlarmId, result.AlarmId);
        Assert.Equal((AlarmType.Test, AlarmPriority.Low, "4", Triage.Blue), (stored.Type, stored.Priority, stored.VkpCode, stored.Triage));
        Assert.Null(stored.SensorId);
        Assert.Equal(T0, stored.RaisedAt);
        Assert.Equal(T0, result.At);
        SchemaValidation.AssertValid("command-result", Encoding.UTF8.GetString(CommandJson.Serialize(result)));
    }

    [Fact]
    public async Task A_command_delivered_twice_is_answered_twice_but_carried_out_once()
    {
        using var f = new Fixture();
        var command = Command(CommandKind.TestAlarm, "cmd-dup");

        var first = await f.Executor.ExecuteAsync(command, CancellationToken.None);
        f.Clock.Advance(TimeSpan.FromSeconds(30));
        var second = await f.Executor.HandleAsync(CommandJson.Serialize(command), CancellationToken.None);

        Assert.Single(f.Outbox.Alarms);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Commands_arriving_together_run_one_at_a_time_and_each_once()
    {
        using var f = new Fixture();
        var commands = Enumerable.Range(0, 20).Select(i => Command(CommandKind.TestAlarm, $"cmd-{i % 5}")).ToList();

        var results = await Task.WhenAll(commands.Select(c => Task.Run(() => f.Executor.ExecuteAsync(c, CancellationToken.None))));

        Assert.Equal(5, f.Outbox.Alarms.Count);
        Assert.All(results.GroupBy(r => r.CommandId), g => Assert.Single(g.Select(r => r.AlarmId).Distinct()));
    }

    [Fact]
    public async Task A_valid_care_profile_is_stored_and_put_in_use()
    {
        using var f = new Fixture();

        var result = await f.Executor.ExecuteAsync(ReplaceProfile("cmd-p1", """{ "timeZone": "Europe/Oslo", "nightWindow": { "start": "21:30", "end": "07:00" }, "wandering": { "enabled": true, "graceMinutes": 3 } }"""), CancellationToken.None);

        Assert.True(result.Status == CommandStatus.Ok, result.Reason);
        Assert.Equal("21:30-07:00", f.Profiles.Current.NightWindow.ToString());
        Assert.Equal(3, f.Profiles.Current.Wandering.GraceMinutes);
        Assert.Equal("21:30-07:00", Assert.Single(f.Applied).NightWindow.ToString());

        // Durable: a gateway started afterwards uses the centre's profile, not the configuration file's.
        var afterRestart = new FileCareProfileStore(f.Dir.Path, new CareProfileConfig(), NullLogger.Instance);
        Assert.Equal("21:30-07:00", afterRestart.Current.NightWindow.ToString());
        Assert.Equal(afterRestart.FilePath, afterRestart.Source);
        Assert.False(File.Exists(afterRestart.FilePath + ".tmp"));
    }

    [Theory]
    [InlineData("""{ "nightWindow": { "start": "25:00", "end": "06:00" } }""", "$.careProfile.nightWindow.start: '25:00' is not a time of day as HH:mm")]
    [InlineData("""{ "timeZone": "Mars/Olympus" }""", "$.careProfile.timeZone: 'Mars/Olympus' is not a known IANA time zone")]
    [InlineData("""{ "wandering": { "graceMinutes": 0 } }""", "$.careProfile.wandering.graceMinutes: 0 is outside")]
    [InlineData("""{ "wandering": { "graceMinutes": "five" } }""", "$.careProfile.wandering.graceMinutes")]
    [InlineData("""{ "wanderng": { "enabled": false } }""", "wanderng")]
    [InlineData("""{ "nightWindow": null }""", "$.careProfile.nightWindow")]
    public async Task A_bad_care_profile_is_rejected_with_a_reason_naming_the_field_and_the_old_one_stays(string profile, string expected)
    {
        using var f = new Fixture();
        var before = f.Profiles.Current;

        var result = await f.Executor.ExecuteAsync(ReplaceProfile("cmd-bad", profile), CancellationToken.None);

        Assert.Equal(CommandStatus.Rejected, result.Status);
        Assert.Contains(expected, result.Reason, StringComparison.Ordinal);
        Assert.Contains("unchanged", result.Reason, StringComparison.Ordinal);
        Assert.Same(before, f.Profiles.Current);
        Assert.Empty(f.Applied);
        Assert.False(File.Exists(f.Profiles.FilePath));
        SchemaValidation.AssertValid("command-result", Encoding.UTF8.GetString(CommandJson.Serialize(result)));
    }

    [Fact]
    public async Task Every_problem_of_a_bad_profile_is_named_not_just_the_first()
    {
        using var f = new Fixture();

        var result = await f.Executor.ExecuteAsync(ReplaceProfile("cmd-2bad", """{ "timeZone": "Nowhere/Land", "nightWindow": { "start": "22:00", "end": "6am" } }"""), CancellationToken.None);

        Assert.Contains("$.careProfile.timeZone", result.Reason, StringComparison.Ordinal);
        Assert.Contains("$.careProfile.nightWindow.end", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_profile_that_cannot_be_stored_fails_and_nothing_changes()
    {
        using var f = new Fixture(profiles: new ThrowingStore());

        var result = await f.Executor.ExecuteAsync(ReplaceProfile("cmd-io", "{}"), CancellationToken.None);

        Assert.Equal(CommandStatus.Failed, result.Status);
        Assert.Contains("disk full", result.Reason, StringComparison.Ordinal);
        Assert.Contains("unchanged", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stored_profile_that_became_invalid_is_not_used_and_the_configuration_profile_is()
    {
        using var dir = new TempDir();
        await File.WriteAllTextAsync(dir.File(FileCareProfileStore.FileName), """{ "timeZone": "Bad/Zone" }""");

        var store = new FileCareProfileStore(dir.Path, new CareProfileConfig { NightWindow = new TimeWindowConfig { Start = "23:00", End = "05:00" } }, NullLogger.Instance);

        Assert.Equal("23:00-05:00", store.Current.NightWindow.ToString());
        Assert.Equal("configuration file", store.Source);
    }

    [Fact]
    public async Task Diagnostics_answer_with_technical_state_only()
    {
        using var f = new Fixture();

        var result = await f.Executor.ExecuteAsync(Command(CommandKind.RequestDiagnostics, "cmd-d"), CancellationToken.None);

        Assert.Equal(CommandStatus.Ok, result.Status);
        Assert.Equal(SomeDiagnostics, result.Diagnostics);
        var json = Encoding.UTF8.GetString(CommandJson.Serialize(result));
        SchemaValidation.AssertValid("command-result", json);
        Assert.DoesNotContain("room", json, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_command_for_another_gateway_is_rejected_and_not_carried_out()
    {
        using var f = new Fixture();

        var result = await f.Executor.ExecuteAsync(Command(CommandKind.TestAlarm, "cmd-x") with { GatewayId = "gw-2" }, CancellationToken.None);

        Assert.Equal(CommandStatus.Rejected, result.Status);
        Assert.Contains("gatewayId", result.Reason, StringComparison.Ordinal);
        Assert.Empty(f.Outbox.Alarms);
    }

    [Theory]
    [InlineData("""{"version":1,"commandId":"c-1","gatewayId":"gw-1","command":"reboot","sentAt":"2026-11-24T09:00:00+00:00"}""", "command: unknown command 'reboot'")]
    [InlineData("""{"version":1,"commandId":"c-1","gatewayId":"gw-1","command":"replace-care-profile","sentAt":"2026-11-24T09:00:00+00:00"}""", "careProfile: replace-care-profile needs")]
    [InlineData("""{"version":1,"commandId":"c-1","gatewayId":"gw-1","command":"test-alarm","sentAt":"2026-11-24T09:00:00+00:00","careProfile":{}}""", "careProfile: only replace-care-profile")]
    [InlineData("""{"version":2,"commandId":"c-1","gatewayId":"gw-1","command":"test-alarm","sentAt":"2026-11-24T09:00:00+00:00"}""", "version:")]
    [InlineData("""{"version":1,"commandId":"c-1","gatewayId":"gw-1","command":"test-alarm","sentAt":"2026-11-24T09:00:00+00:00","extra":1}""", "extra")]
    [InlineData("""{"version":1,"commandId":"c-1","gatewayId":"gw-1","command":"test-alarm"}""", "missing required properties")]
    public async Task A_malformed_command_with_an_id_is_answered_rejected_with_the_reason(string json, string expected)
    {
        using var f = new Fixture();

        var result = await f.Executor.HandleAsync(Encoding.UTF8.GetBytes(json), CancellationToken.None);

        Assert.NotNull(result);
        Assert.Equal((CommandStatus.Rejected, "c-1"), (result.Status, result.CommandId));
        Assert.Contains(expected, result.Reason, StringComparison.Ordinal);
        Assert.Empty(f.Outbox.Alarms);
        SchemaValidation.AssertValid("command-result", Encoding.UTF8.GetString(CommandJson.Serialize(result)));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"version":1,"gatewayId":"gw-1","command":"test-alarm"}""")]
    [InlineData("""{"commandId":"has space","command":"test-alarm"}""")]
    public async Task A_command_without_a_usable_id_gets_no_answer(string json)
    {
        using var f = new Fixture();
        Assert.Null(await f.Executor.HandleAsync(Encoding.UTF8.GetBytes(json), CancellationToken.None));
        Assert.Empty(f.Outbox.Alarms);
    }

    [Fact]
    public void Command_messages_round_trip_and_match_their_schema()
    {
        var command = ReplaceProfile("019ab3d0-1c01-7a10-8b2c-3d4e5f607183", """{ "timeZone": "Europe/Oslo" }""");
        var json = CommandJson.Serialize(command);
        SchemaValidation.AssertValid("command", Encoding.UTF8.GetString(json));
        Assert.True(CommandJson.TryParseCommand(json, out var back, out var error), error);
        Assert.Equal("Europe/Oslo", back.CareProfile!.Value.GetProperty("timeZone").GetString());
        SchemaValidation.AssertValid("command", Encoding.UTF8.GetString(CommandJson.Serialize(Command(CommandKind.TestAlarm, "t-1"))));
    }

    [Fact]
    public void The_durable_journal_answers_a_command_again_after_a_restart()
    {
        using var dir = new TempDir();
        var result = new CommandResultMessage { CommandId = "cmd-1", GatewayId = "gw-1", Command = CommandKind.TestAlarm, Status = CommandStatus.Ok, Reason = "r", At = T0, AlarmId = "a-1" };
        using (var journal = new SqliteCommandJournal(dir.File("commands.db")))
        {
            journal.Record(result);
            journal.Record(result with { AlarmId = "a-2" }); // the first answer stays the answer
        }

        using var reopened = new SqliteCommandJournal(dir.File("commands.db"), keep: 2);
        Assert.Equal(result, reopened.Find("cmd-1"));
        Assert.Null(reopened.Find("cmd-2"));
        reopened.Record(result with { CommandId = "cmd-2" });
        reopened.Record(result with { CommandId = "cmd-3" });
        reopened.Record(result with { CommandId = "cmd-4" });
        Assert.Null(reopened.Find("cmd-1"));
        Assert.NotNull(reopened.Find("cmd-4"));
    }

    [Fact]
    public async Task New_rules_take_over_at_once_and_keep_the_deadline_of_a_wandering_case_in_the_making()
    {
        var door = new SensorDefinition { Id = "door-front", Kind = SensorKind.Door, Room = "hallway", OuterDoor = true };
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 1, 10, 0, TimeSpan.Zero)); // 02:10 in Oslo
        var outbox = new MemoryOutbox();
        var raiser = new AlarmRaiser(outbox, () => new CareProfile());
        using var runner = new RuleRunner(new RuleEngine(new CareProfile(), [door]), raiser, clock, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var running = runner.RunAsync(stop.Token);

        runner.Post(new SensorEvent(door.Id, door.Kind, door.Room, true, clock.GetUtcNow()));
        await runner.DrainAsync().WaitAsync(Bound);
        // The new profile has no wandering rule at all; the door already opened under the old one.
        var swapped = runner.ReplaceEngineAsync(() => new RuleEngine(new CareProfile { Wandering = new WanderingRule { Enabled = false } }, [door]));
        await swapped.WaitAsync(Bound);
        Assert.Empty(outbox.Alarms);

        clock.Advance(TimeSpan.FromMinutes(5));
        await runner.DrainAsync().WaitAsync(Bound);
        Assert.Equal(AlarmType.Wandering, Assert.Single(outbox.Alarms).Type);

        // Under the new rules the door at night raises nothing.
        runner.Post(new SensorEvent(door.Id, door.Kind, door.Room, false, clock.GetUtcNow()));
        runner.Post(new SensorEvent(door.Id, door.Kind, door.Room, true, clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromMinutes(10));
        await runner.DrainAsync().WaitAsync(Bound);
        Assert.Single(outbox.Alarms);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    private static CommandMessage Command(string kind, string id) => new()
    {
        CommandId = id,
        GatewayId = "gw-1",
        Command = kind,
        SentAt = T0,
        By = "operator-7",
    };

    private static CommandMessage ReplaceProfile(string id, string profileJson) =>
        Command(CommandKind.ReplaceCareProfile, id) with { CareProfile = JsonDocument.Parse(profileJson).RootElement.Clone() };

    private sealed class Fixture : IDisposable
    {
        public Fixture(ICareProfileStore? profiles = null)
        {
            Profiles = new FileCareProfileStore(Dir.Path, new CareProfileConfig(), NullLogger.Instance);
            Profiles.Replaced += Applied.Add;
            var raiser = new AlarmRaiser(Outbox, () => Profiles.Current);
            Executor = new CommandExecutor("gw-1", raiser, profiles ?? Profiles, () => SomeDiagnostics, new InMemoryCommandJournal(), Clock, NullLogger.Instance);
        }

        public TempDir Dir { get; } = new();

        public FakeTimeProvider Clock { get; } = new(T0);

        public MemoryOutbox Outbox { get; } = new();

        public FileCareProfileStore Profiles { get; }

        public List<CareProfile> Applied { get; } = [];

        public CommandExecutor Executor { get; }

        public void Dispose()
        {
            Executor.Dispose();
            Dir.Dispose();
        }
    }

    private sealed class ThrowingStore : ICareProfileStore
    {
        public IReadOnlyList<string> TryReplace(JsonElement careProfileSection) => throw new IOException("disk full");
    }
}

/// <summary>An outbox in memory for unit tests of what raises alarms (the real one is tested in OutboxTests).</summary>
public sealed class MemoryOutbox : IAlarmOutbox
{
    private readonly ConcurrentQueue<NewAlarm> _alarms = new();
    private long _seq;

    public IReadOnlyList<NewAlarm> Alarms => [.. _alarms];

    public Task<long> AddAsync(NewAlarm alarm, CancellationToken cancellationToken)
    {
        _alarms.Enqueue(alarm);
        return Task.FromResult(Interlocked.Increment(ref _seq));
    }
}
