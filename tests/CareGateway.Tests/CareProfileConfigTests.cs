using CareGateway.Core;
using CareGateway.Protocol;

namespace CareGateway.Tests;

public class CareProfileConfigTests
{
    private const string Base = """
        {
          "gatewayId": "gw-1",
          "dataDirectory": "/tmp/x",
          "broker": { "host": "127.0.0.1", "port": 1883 },
          "board": { "driver": "simulated" },
          "sensors": [
            { "id": "door-front", "kind": "door", "room": "hallway", "outerDoor": true, "gpio": { "line": 17 } }
          ],
          "careProfile": PROFILE
        }
        """;

    private static GatewayConfig Parse(string profile) => ConfigLoader.Parse(Base.Replace("PROFILE", profile, StringComparison.Ordinal), "test.json");

    [Fact]
    public void Every_rule_setting_reaches_the_profile()
    {
        var config = Parse("""
            {
              "timeZone": "Europe/Oslo",
              "nightWindow": { "start": "23:00", "end": "07:00" },
              "wandering": { "graceMinutes": 3, "priority": "critical" },
              "bedExit": { "minInBedMinutes": 15, "maxAbsentMinutes": 8 },
              "bathroomStay": { "maxMinutes": 40, "rooms": ["bathroom", "bad"] },
              "notUp": { "enabled": true, "deadline": "10:00", "from": "06:30" },
              "inactivity": { "enabled": true, "mode": "windows", "windows": [ { "start": "07:00", "end": "11:00" } ] },
              "technical": { "lowBatteryPercent": 20, "tamper": false },
              "away": { "maxHours": 48, "autoAfterMinutes": 20 },
              "preAlarm": { "enabled": true, "cancelWindowSeconds": 90, "fallGuardSeconds": 10, "cancellableTypes": ["bed-exit", "fall"] },
              "priorities": { "low-battery": "medium" }
            }
            """);
        var p = ConfigLoader.ToProfile(config.CareProfile);

        Assert.Equal("23:00-07:00", p.NightWindow.ToString());
        Assert.Equal(AlarmPriority.Critical, p.PriorityOf(AlarmType.Wandering));
        Assert.Equal(AlarmPriority.Medium, p.PriorityOf(AlarmType.LowBattery));
        Assert.Equal(AlarmPriority.Critical, p.PriorityOf(AlarmType.Panic));
        Assert.Equal((15d, 8d), (p.BedExit.MinInBedMinutes, p.BedExit.MaxAbsentMinutes));
        Assert.Equal(["bathroom", "bad"], p.BathroomStay.Rooms);
        Assert.Equal((true, new TimeOnly(10, 0), new TimeOnly(6, 30)), (p.NotUp.Enabled, p.NotUp.Deadline, p.NotUp.From));
        Assert.Equal(InactivityMode.Windows, p.Inactivity.Mode);
        Assert.Equal("07:00-11:00", Assert.Single(p.Inactivity.Windows).ToString());
        Assert.Equal((20, false, true), (p.Technical.LowBatteryPercent, p.Technical.Tamper, p.Technical.LowBattery));
        Assert.Equal((48d, (double?)20), (p.Away.MaxHours, p.Away.AutoAfterMinutes));
        Assert.Equal(TimeSpan.FromSeconds(90), p.PreAlarm.HoldFor(AlarmType.BedExit));
        Assert.Equal(TimeSpan.FromSeconds(10), p.PreAlarm.HoldFor(AlarmType.Fall));
        Assert.Equal(TimeSpan.Zero, p.PreAlarm.HoldFor(AlarmType.NotUp));
    }

    [Fact]
    public void The_example_profile_in_the_docs_is_valid()
    {
        var doc = File.ReadAllText(RepoFiles.PathOf("docs", "care-profile.md"));
        var start = doc.IndexOf("```json", StringComparison.Ordinal) + "```json".Length;
        var json = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        var profileStart = json.IndexOf(':', StringComparison.Ordinal) + 1;
        var profile = json[profileStart..json.LastIndexOf('}')];

        var p = ConfigLoader.ToProfile(Parse(profile).CareProfile);

        Assert.True(p.Inactivity.Enabled && p.NotUp.Enabled && p.PreAlarm.Enabled);
        Assert.Equal((double?)20, p.Away.AutoAfterMinutes);
    }

    [Fact]
    public void Defaults_are_the_proven_ones()
    {
        var p = ConfigLoader.ToProfile(Parse("{}").CareProfile);

        Assert.Equal(("Europe/Oslo", "22:00-06:00"), (p.TimeZone, p.NightWindow.ToString()));
        Assert.Equal((true, 10d, 5d), (p.BedExit.Enabled, p.BedExit.MinInBedMinutes, p.BedExit.MaxAbsentMinutes));
        Assert.False(p.NotUp.Enabled);
        Assert.False(p.Inactivity.Enabled);
        Assert.False(p.PreAlarm.Enabled);
    }

    [Theory]
    [InlineData("""{ "bedExit": { "minInBedMinutes": -1 } }""", "$.careProfile.bedExit.minInBedMinutes: -1 is outside 0-240 minutes")]
    [InlineData("""{ "bedExit": { "maxAbsentMinutes": 0 } }""", "$.careProfile.bedExit.maxAbsentMinutes: 0 is outside")]
    [InlineData("""{ "wandering": { "graceMinutes": 0 } }""", "$.careProfile.wandering.graceMinutes: 0 is outside")]
    [InlineData("""{ "bathroomStay": { "maxMinutes": 1 } }""", "$.careProfile.bathroomStay.maxMinutes: 1 is outside 5-600")]
    [InlineData("""{ "bathroomStay": { "rooms": [] } }""", "$.careProfile.bathroomStay.rooms: name at least one room")]
    [InlineData("""{ "notUp": { "deadline": "9" } }""", "$.careProfile.notUp.deadline: '9' is not a time of day as HH:mm")]
    [InlineData("""{ "inactivity": { "mode": "sometimes" } }""", "$.careProfile.inactivity.mode: 'sometimes' is not a mode")]
    [InlineData("""{ "inactivity": { "enabled": true, "mode": "windows" } }""", "$.careProfile.inactivity.windows: mode 'windows' needs at least one")]
    [InlineData("""{ "inactivity": { "windows": [ { "start": "07:00", "end": "7:00" } ] } }""", "$.careProfile.inactivity.windows[0].end: '7:00'")]
    [InlineData("""{ "inactivity": { "dayHours": 60 } }""", "$.careProfile.inactivity.dayHours: 60 is outside 0.5-50 hours")]
    [InlineData("""{ "nightWindow": { "start": "22:00", "end": "22:00" } }""", "$.careProfile.nightWindow: start and end are both 22:00")]
    [InlineData("""{ "technical": { "lowBatteryPercent": 0 } }""", "$.careProfile.technical.lowBatteryPercent: 0 is outside")]
    [InlineData("""{ "away": { "maxHours": 0 } }""", "$.careProfile.away.maxHours: 0 is outside 1-720 hours")]
    [InlineData("""{ "preAlarm": { "fallGuardSeconds": 60 } }""", "$.careProfile.preAlarm.fallGuardSeconds: 60 is outside 0-30")]
    [InlineData("""{ "preAlarm": { "cancellableTypes": ["bed-exit", "panic"] } }""", "$.careProfile.preAlarm.cancellableTypes[1]: 'panic' is never delayed")]
    [InlineData("""{ "preAlarm": { "cancellableTypes": ["smoke"] } }""", "$.careProfile.preAlarm.cancellableTypes[0]: 'smoke' is never delayed")]
    [InlineData("""{ "preAlarm": { "cancellableTypes": ["low-battery"] } }""", "$.careProfile.preAlarm.cancellableTypes[0]: 'low-battery' is a technical alarm")]
    [InlineData("""{ "preAlarm": { "cancellableTypes": ["nap"] } }""", "$.careProfile.preAlarm.cancellableTypes[0]: 'nap' is not an alarm type")]
    [InlineData("""{ "priorities": { "nap": "low" } }""", "$.careProfile.priorities.nap: 'nap' is not an alarm type")]
    [InlineData("""{ "bedExit": { "priority": "urgent" } }""", "$.careProfile.bedExit.priority")]
    [InlineData("""{ "bedExit": { "minutes": 3 } }""", "$.careProfile.bedExit.minutes")]
    public void A_bad_profile_value_is_reported_with_its_path(string profile, string expected)
    {
        var ex = Assert.Throws<ConfigException>(() => Parse(profile));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
