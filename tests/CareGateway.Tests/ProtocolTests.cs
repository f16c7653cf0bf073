using System.Text;
using System.Text.RegularExpressions;
using CareGateway.Protocol;

namespace CareGateway.Tests;

public class ProtocolTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 19, 0, TimeSpan.Zero);

    public static TheoryData<string> Examples() =>
    [
        .. Directory.GetFiles(RepoFiles.PathOf("docs", "schemas", "examples"), "*.json").Select(Path.GetFileName).OfType<string>(),
    ];

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_example_in_the_docs_is_valid_against_its_schema_and_parses(string file)
    {
        var json = RepoFiles.Read("docs", "schemas", "examples", file);
        var kind = file.Split('.')[0];
        SchemaValidation.AssertValid(kind, json);

        var bytes = Encoding.UTF8.GetBytes(json);
        var (parsed, error) = kind switch
        {
            "alarm" => (ProtocolJson.TryParseAlarm(bytes, out _, out var e), e),
            "ack" => (ProtocolJson.TryParseAck(bytes, out _, out var e), e),
            "status" => (ProtocolJson.TryParseStatus(bytes, out _, out var e), e),
            "heartbeat" => (ProtocolJson.TryParseHeartbeat(bytes, out _, out var e), e),
            "command" => (CommandJson.TryParseCommand(bytes, out _, out var e), e),
            "command-result" => (CommandJson.TryParseResult(bytes, out _, out var e), e),
            "sensor" => (SensorStatusJson.TryParse(bytes, out _, out var e), e),
            "heartbeat-ack" => (ProtocolJson.TryParseHeartbeatAck(bytes, out _, out var e), e),
            _ => throw new InvalidOperationException($"Example {file} names no known message kind"),
        };
        Assert.True(parsed, error);
    }

    [Fact]
    public void Serialized_messages_match_the_schemas_exactly()
    {
        var alarm = SampleAlarm();
        SchemaValidation.AssertValid("alarm", Encoding.UTF8.GetString(ProtocolJson.Serialize(alarm)));
        SchemaValidation.AssertValid("alarm", Encoding.UTF8.GetString(ProtocolJson.Serialize(alarm with { SensorId = null, Room = null, Type = AlarmType.Test })));
        SchemaValidation.AssertValid("ack", Encoding.UTF8.GetString(ProtocolJson.Serialize(new AckMessage { AlarmId = alarm.AlarmId, GatewayId = "gw-1", State = AckState.Accepted, By = "operator-7", At = T0, Note = "ok" })));
        SchemaValidation.AssertValid("status", Encoding.UTF8.GetString(ProtocolJson.Serialize(new StatusMessage { GatewayId = "gw-1", State = GatewayState.Offline, Since = T0 })));
        SchemaValidation.AssertValid("heartbeat", Encoding.UTF8.GetString(ProtocolJson.Serialize(new HeartbeatMessage { GatewayId = "gw-1", At = T0, UptimeSeconds = 5, PendingAlarms = 0, LastSeq = 0, IntervalSeconds = 60 })));
        var repeated = alarm with { Type = AlarmType.Panic, Priority = AlarmPriority.Critical, VkpCode = "4.13", Triage = Triage.Red, Repeats = 2, RepeatedAt = T0.AddMinutes(3) };
        SchemaValidation.AssertValid("alarm", Encoding.UTF8.GetString(ProtocolJson.Serialize(repeated)));
        SchemaValidation.AssertValid("ack", Encoding.UTF8.GetString(ProtocolJson.Serialize(new AckMessage { AlarmId = alarm.AlarmId, GatewayId = "gw-1", State = AckState.Received, By = "centre", At = T0, Repeats = 2 })));
    }

    [Fact]
    public void A_repeat_round_trips_and_only_an_immediate_call_may_carry_one()
    {
        var panic = SampleAlarm() with { Type = AlarmType.Panic, Priority = AlarmPriority.Critical, VkpCode = "4.13", Triage = Triage.Red, Repeats = 2, RepeatedAt = T0.AddMinutes(3) };
        Assert.True(ProtocolJson.TryParseAlarm(ProtocolJson.Serialize(panic), out var back, out var error), error);
        Assert.Equal((2, T0.AddMinutes(3)), (back.Repeats, back.RepeatedAt));
        Assert.DoesNotContain("repeats", Encoding.UTF8.GetString(ProtocolJson.Serialize(SampleAlarm())), StringComparison.Ordinal); // absent until one happens

        Assert.False(ProtocolJson.TryParseAlarm(ProtocolJson.Serialize(SampleAlarm() with { Repeats = 1, RepeatedAt = T0 }), out _, out error));
        Assert.StartsWith("repeats: a bed-exit alarm is not repeated", error, StringComparison.Ordinal);
        Assert.False(ProtocolJson.TryParseAlarm(ProtocolJson.Serialize(panic with { RepeatedAt = null }), out _, out error));
        Assert.Equal("repeats and repeatedAt: either both or neither", error);
        Assert.False(ProtocolJson.TryParseAlarm(ProtocolJson.Serialize(panic with { Repeats = 0 }), out _, out error));
        Assert.StartsWith("repeats: must be 1 or more", error, StringComparison.Ordinal);
        Assert.Equal([AlarmType.CarbonMonoxide, AlarmType.Epilepsy, AlarmType.Fall, AlarmType.Gas, AlarmType.Panic, AlarmType.PullCord, AlarmType.Smoke, AlarmType.Water], AlarmCatalog.All.Select(t => t.Type).Where(AlarmCatalog.Repeats).Order());
    }

    [Fact]
    public void An_alarm_round_trips_with_utc_times_written_with_their_offset()
    {
        var alarm = SampleAlarm();
        var json = Encoding.UTF8.GetString(ProtocolJson.Serialize(alarm));

        Assert.Contains("\"raisedAt\":\"2026-11-24T01:19:00+00:00\"", json, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"bed-exit\"", json, StringComparison.Ordinal);
        Assert.Contains("\"priority\":\"medium\"", json, StringComparison.Ordinal);
        Assert.True(ProtocolJson.TryParseAlarm(Encoding.UTF8.GetBytes(json), out var back, out var error), error);
        Assert.Equal(alarm, back);
    }

    [Theory]
    [InlineData("not json", "not a valid AlarmMessage")]
    [InlineData("null", "JSON null")]
    [InlineData("{\"version\":1}", "missing required properties")]
    [InlineData("{\"version\":2,\"alarmId\":\"a\",\"gatewayId\":\"gw-1\",\"seq\":1,\"type\":\"fall\",\"priority\":\"high\",\"vkpCode\":\"4.1\",\"triage\":\"R\",\"state\":\"raised\",\"raisedAt\":\"2026-01-01T00:00:00+00:00\",\"sentAt\":\"2026-01-01T00:00:00+00:00\",\"attempt\":1,\"reason\":\"r\"}", "version:")]
    [InlineData("{\"version\":1,\"alarmId\":\"019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12\",\"gatewayId\":\"gw-1\",\"seq\":1,\"type\":\"flood\",\"priority\":\"high\",\"vkpCode\":\"4.1\",\"triage\":\"R\",\"state\":\"raised\",\"raisedAt\":\"2026-01-01T00:00:00+00:00\",\"sentAt\":\"2026-01-01T00:00:00+00:00\",\"attempt\":1,\"reason\":\"r\"}", "type: unknown alarm type 'flood'")]
    [InlineData("{\"version\":1,\"alarmId\":\"a\",\"gatewayId\":\"GW#1\",\"seq\":1,\"type\":\"fall\",\"priority\":\"high\",\"vkpCode\":\"4.1\",\"triage\":\"R\",\"state\":\"raised\",\"raisedAt\":\"2026-01-01T00:00:00+00:00\",\"sentAt\":\"2026-01-01T00:00:00+00:00\",\"attempt\":1,\"reason\":\"r\"}", "gatewayId:")]
    [InlineData("{\"version\":1,\"alarmId\":\"a\",\"gatewayId\":\"gw-1\",\"seq\":\"one\",\"type\":\"fall\",\"priority\":\"high\",\"vkpCode\":\"4.1\",\"triage\":\"R\",\"state\":\"raised\",\"raisedAt\":\"2026-01-01T00:00:00+00:00\",\"sentAt\":\"2026-01-01T00:00:00+00:00\",\"attempt\":1,\"reason\":\"r\"}", "$.seq")]
    public void A_bad_alarm_is_rejected_with_a_reason_that_says_what_and_where(string json, string expected)
    {
        Assert.False(ProtocolJson.TryParseAlarm(Encoding.UTF8.GetBytes(json), out var alarm, out var error));
        Assert.Null(alarm);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 19 finding 1: ids were any string, so a gateway could take another home's id or the centre's guessable
    /// technical ids. Only a gateway's own UUIDv7 passes; the centre's technical alarms use UUIDv4.
    /// </summary>
    [Theory]
    [InlineData("a-1")]
    [InlineData("centre-gw-1-sequence-gap-5")]
    [InlineData("3f2b6c1e-8d4a-4b7e-9c21-5a6d7e8f9012")] // UUIDv4: the centre's own space
    [InlineData("019AB3C4-5D60-7E21-9F3A-2B4C6D8E0F12")] // upper case: the same alarm would have two spellings
    [InlineData("{019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12}")]
    [InlineData("019ab3c4-5d60-7e21-cf3a-2b4c6d8e0f12")] // not the RFC 9562 variant
    public void An_alarm_id_that_is_not_a_lower_case_uuid_v7_is_rejected(string id)
    {
        var json = Encoding.UTF8.GetString(ProtocolJson.Serialize(SampleAlarm() with { AlarmId = id }));
        Assert.False(ProtocolJson.TryParseAlarm(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.StartsWith("alarmId: must be a UUIDv7", error, StringComparison.Ordinal);
        Assert.True(ProtocolJson.IsAlarmId(Guid.CreateVersion7().ToString()));
    }

    /// <summary>Issue 19 finding 15: the values a rejection quotes are escaped, so a newline cannot forge a log line.</summary>
    [Fact]
    public void A_rejection_quotes_the_bad_value_with_its_control_characters_escaped()
    {
        var json = Encoding.UTF8.GetString(ProtocolJson.Serialize(SampleAlarm() with { Type = "fall\r\nforged line\u001b[2J\u2028" }));
        Assert.False(ProtocolJson.TryParseAlarm(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.Equal("type: unknown alarm type 'fall\\r\\nforged line\\u001b[2J\\u2028'", error);
        Assert.Equal("a\\tb \\u0000 c", LogText.Escape(LogText.Escape("a\tb \0 c"))); // escaping twice changes nothing
    }

    [Fact]
    public void An_oversized_message_is_rejected_unread()
    {
        var huge = new byte[ProtocolJson.MaxMessageBytes + 1];
        Assert.False(ProtocolJson.TryParseAck(huge, out _, out var error));
        Assert.Contains("limit", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_alarm_type_has_a_vkp_code_and_a_triage_level()
    {
        var fixedNames = new[] { "fall", "panic", "wandering", "bed-exit", "not-up", "inactivity", "bathroom-stay", "smoke", "water", "pull-cord", "epilepsy", "co", "gas", "tamper", "low-battery", "sensor-offline", "zigbee-offline", "gateway-power", "gateway-fault", "test" };
        Assert.Equal(fixedNames.Order(StringComparer.Ordinal), AlarmCatalog.All.Select(i => i.Type).Order(StringComparer.Ordinal));
        Assert.All(AlarmCatalog.All, i => Assert.True(Triage.IsValid(i.Triage)));
        Assert.Equal("4.1", AlarmCatalog.Get(AlarmType.Fall).VkpCode);
        Assert.Equal("4.23", AlarmCatalog.Get(AlarmType.BathroomStay).VkpCode);
        Assert.Equal("4.11", AlarmCatalog.Get(AlarmType.Smoke).VkpCode);
        Assert.Equal(("4.14", "Snortrekk", Triage.Red), (AlarmCatalog.Get(AlarmType.PullCord).VkpCode, AlarmCatalog.Get(AlarmType.PullCord).VkpDisplay, AlarmCatalog.Get(AlarmType.PullCord).Triage));
        Assert.Equal(("4.24", "Epilepsi", Triage.Red), (AlarmCatalog.Get(AlarmType.Epilepsy).VkpCode, AlarmCatalog.Get(AlarmType.Epilepsy).VkpDisplay, AlarmCatalog.Get(AlarmType.Epilepsy).Triage));
        Assert.All([AlarmType.CarbonMonoxide, AlarmType.Gas], t => Assert.Equal((Triage.Red, AlarmPriority.Critical, false), (AlarmCatalog.Get(t).Triage, AlarmCatalog.Get(t).Priority, AlarmCatalog.Get(t).Technical)));
    }

    [Fact]
    public void Every_vkp_code_used_exists_in_the_published_vkp_code_system()
    {
        // A copy of the published code system kept with the tests (Data/vkp-r4/README.md says where it comes from).
        var codeSystem = File.ReadAllText(Path.Combine(RepoFiles.Root, "tests", "CareGateway.Tests", "Data", "vkp-r4", "vkp-alert-code-v090.codesystem.xml"));
        Assert.Contains("<url value=\"http://ehelse.no/fhir/CodeSystem/vkp-alert-code-v090\" />", codeSystem, StringComparison.Ordinal);
        foreach (var info in AlarmCatalog.All)
        {
            Assert.Contains($"<code value=\"{info.VkpCode}\"", codeSystem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_mapping_table_in_protocol_md_is_the_one_in_the_code()
    {
        var doc = RepoFiles.Read("docs", "protocol.md");
        foreach (var info in AlarmCatalog.All)
        {
            var row = new Regex($@"^\|\s*`{Regex.Escape(info.Type)}`\s*\|\s*{Regex.Escape(info.VkpCode)}\s*\|\s*{Regex.Escape(info.VkpDisplay)}\s*\|\s*{info.Triage}\s*\|\s*{info.Priority.ToWire()}\s*\|", RegexOptions.Multiline);
            Assert.Matches(row, doc);
        }
    }

    [Theory]
    [InlineData("care/v1/gw-1/alarm", true, "gw-1", "alarm")]
    [InlineData("care/v1/gw-1/sensors/door-front", true, "gw-1", "sensors/door-front")]
    [InlineData("care/v1/gw-1", false, "", "")]
    [InlineData("care/v2/gw-1/alarm", false, "", "")]
    [InlineData("care/v1/GW+/alarm", false, "GW+", "alarm")]
    public void Topics_parse_only_the_gateway_tree(string topic, bool ok, string gateway, string leaf)
    {
        Assert.Equal(ok, Topics.TryParse(topic, out var g, out var l));
        if (ok)
        {
            Assert.Equal((gateway, leaf), (g, l));
        }
    }

    [Fact]
    public void A_gateway_id_with_mqtt_wildcards_cannot_make_a_topic()
    {
        Assert.Throws<ArgumentException>(() => Topics.Alarm("gw/#"));
        Assert.Throws<ArgumentException>(() => Topics.Alarm("+"));
    }

    private static AlarmMessage SampleAlarm() => new()
    {
        AlarmId = Guid.CreateVersion7(T0).ToString(),
        GatewayId = "gw-1",
        Seq = 3,
        Type = AlarmType.BedExit,
        Priority = AlarmPriority.Medium,
        VkpCode = "4.2",
        Triage = Triage.Yellow,
        State = AlarmState.Raised,
        SensorId = "bed-1",
        Room = "bedroom",
        RaisedAt = T0,
        SentAt = T0.AddSeconds(2),
        Attempt = 1,
        Reason = "Out of bed for 12 min during the night",
    };
}
