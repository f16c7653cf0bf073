using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway.Tests;

/// <summary>Pull cord, epilepsy sensor, CO and gas detectors (issue 14): immediate calls like panic and smoke.</summary>
public class ImmediateKindsTests
{
    private static readonly SensorDefinition PullCord = new() { Id = "cord-bath", Kind = SensorKind.PullCord, Room = "bathroom" };
    private static readonly SensorDefinition Epilepsy = new() { Id = "epi-bed", Kind = SensorKind.Epilepsy, Room = "bedroom" };
    private static readonly SensorDefinition Co = new() { Id = "co-kitchen", Kind = SensorKind.CarbonMonoxide, Room = "kitchen" };
    private static readonly SensorDefinition Gas = new() { Id = "gas-kitchen", Kind = SensorKind.Gas, Room = "kitchen" };
    private static readonly SensorDefinition Thermometer = new() { Id = "temp-living", Kind = SensorKind.Temperature, Room = "living-room" };

    private static RuleEngine Engine(CareProfile? profile = null) => new(profile ?? new CareProfile(), [.. Home.All, PullCord, Epilepsy, Co, Gas, Thermometer]);

    public static TheoryData<string, string, string> Kinds() => new()
    {
        { "cord-bath", AlarmType.PullCord, "4.14" },
        { "epi-bed", AlarmType.Epilepsy, "4.24" },
        { "co-kitchen", AlarmType.CarbonMonoxide, "4" },
        { "gas-kitchen", AlarmType.Gas, "4" },
    };

    private static SensorDefinition ById(string id) => new[] { PullCord, Epilepsy, Co, Gas }.Single(s => s.Id == id);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Each_raises_its_alarm_at_once_with_its_vkp_code_and_triage_red(string sensorId, string type, string vkpCode)
    {
        var sensor = ById(sensorId);
        var engine = Engine();
        var at = Home.At(11, 25, 3, 10);

        var alarm = Assert.Single(engine.OnEvent(Home.Ev(sensor, true, at)));

        Assert.Equal((type, sensor.Id, sensor.Room, at), (alarm.Type, alarm.SensorId, alarm.Room, alarm.At));
        var info = AlarmCatalog.Get(alarm.Type);
        Assert.Equal((vkpCode, Triage.Red, AlarmPriority.Critical, false), (info.VkpCode, info.Triage, info.Priority, info.Technical));
        Assert.True(AlarmCatalog.Repeats(type));
        Assert.Contains(type, PreAlarmRule.NeverDelayed);

        // The state held: no second alarm; cleared and active again: a new one.
        Assert.Empty(engine.OnEvent(Home.Ev(sensor, true, at.AddSeconds(5))));
        Assert.Empty(engine.OnEvent(Home.Ev(sensor, false, at.AddSeconds(30))));
        Assert.Equal(type, Assert.Single(engine.OnEvent(Home.Ev(sensor, true, at.AddMinutes(1)))).Type);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_pre_alarm_profile_cannot_hold_them(string sensorId, string type, string vkpCode)
    {
        _ = vkpCode;
        var profile = new CareProfile { PreAlarm = new PreAlarmRule { Enabled = true, CancellableTypes = [type] } };
        Assert.Equal(TimeSpan.Zero, profile.PreAlarm.HoldFor(type));
        Assert.Equal(type, Assert.Single(Engine(profile).OnEvent(Home.Ev(ById(sensorId), true, Home.At(11, 25, 3, 10)))).Type);
    }

    [Fact]
    public void A_temperature_reading_is_no_alarm_and_no_activity()
    {
        var engine = Engine();
        var e = new SensorEvent(Thermometer.Id, Thermometer.Kind, Thermometer.Room, false, Home.At(11, 25, 3, 10), Value: 31.5);
        Assert.Empty(engine.OnEvent(e));
    }
}
