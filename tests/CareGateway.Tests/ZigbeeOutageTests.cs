using System.Text;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Sensors.Zigbee;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>The real Zigbee mapper feeding the real rules, as the Zigbee client and the rule runner do; times on a fake clock.</summary>
internal sealed class ZigbeeHome
{
    public ZigbeeHome(int count = 40, CareProfile? profile = null)
    {
        Defs = ZigbeeOutageTests.Sensors(count);
        Clock = new FakeTimeProvider(ZigbeeOutageTests.T0);
        Mapper = new Zigbee2MqttMapper("zigbee2mqtt", Defs, Clock, NullLogger.Instance);
        Engine = new RuleEngine(profile ?? new CareProfile(), Defs);
    }

    public SensorDefinition[] Defs { get; }

    public FakeTimeProvider Clock { get; }

    public Zigbee2MqttMapper Mapper { get; }

    public RuleEngine Engine { get; private set; }

    public List<AlarmRequest> Alarms { get; } = [];

    /// <summary>A message from the broker, its events through the rules as the rule runner hands them over.</summary>
    public void Send(string topic, string payload, bool retained = false) => Feed(Mapper.Handle(topic, Encoding.UTF8.GetBytes(payload), retained));

    public void Feed(IEnumerable<SensorEvent> events)
    {
        foreach (var e in events)
        {
            var forEngine = e.Type switch
            {
                SensorEventType.Offline => e with { Health = new SensorHealth { Offline = true } },
                SensorEventType.Online => e with { Health = new SensorHealth { Offline = false } },
                _ => e,
            };
            Alarms.AddRange(Engine.OnEvent(forEngine));
        }
    }

    /// <summary>Moves the clock on, running the rules' timers as the runner would.</summary>
    public void Advance(TimeSpan by)
    {
        Clock.Advance(by);
        Alarms.AddRange(Engine.RunUntil(Clock.GetUtcNow()));
    }

    /// <summary>A restart of the gateway: new rules from the saved state, a new mapper (the broker's retained messages follow).</summary>
    public Zigbee2MqttMapper Restart()
    {
        var saved = Engine.Snapshot();
        Engine = new RuleEngine(new CareProfile(), Defs);
        Engine.Restore(saved);
        Engine.ForgetUnjudgedOfflineReports();
        return new Zigbee2MqttMapper("zigbee2mqtt", Defs, Clock, NullLogger.Instance);
    }
}

/// <summary>
/// One alarm per cause (issue 13): zigbee2mqtt or its local broker going away is one <c>zigbee-offline</c> alarm for the
/// home listing the sensors, not one <c>sensor-offline</c> per sensor; a sensor going silent alone is still its own.
/// The real mapper feeds the real rules, as the Zigbee client does.
/// </summary>
public class ZigbeeOutageTests
{
    internal static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private static readonly string[] Rooms = ["hallway", "bedroom", "bathroom", "kitchen", "living-room"];
    private static readonly SensorKind[] Kinds = [SensorKind.Door, SensorKind.Motion, SensorKind.Smoke, SensorKind.Water, SensorKind.Presence];

    internal static SensorDefinition[] Sensors(int count) =>
        [.. Enumerable.Range(1, count).Select(i => new SensorDefinition
        {
            Id = $"z-{i:00}", Kind = Kinds[i % Kinds.Length], Room = Rooms[i % Rooms.Length],
            Zigbee = new ZigbeeSensorOptions { Device = $"dev-{i:00}" },
        })];

    [Fact]
    public void Zigbee2mqtt_going_offline_with_40_sensors_is_exactly_one_alarm_listing_all_40_and_its_return_raises_nothing()
    {
        var home = new ZigbeeHome();
        home.Send("zigbee2mqtt/bridge/state", "{\"state\":\"online\"}", retained: true);
        home.Advance(TimeSpan.FromMinutes(5));

        home.Send("zigbee2mqtt/bridge/state", "{\"state\":\"offline\"}");
        Assert.Empty(home.Alarms); // gathered first
        home.Advance(TimeSpan.FromMinutes(30));

        var alarm = Assert.Single(home.Alarms);
        Assert.Equal((AlarmType.ZigbeeOffline, (string?)null, AlarmState.Raised), (alarm.Type, alarm.SensorId, alarm.State));
        Assert.True(AlarmCatalog.Get(alarm.Type).Technical);
        Assert.Contains("zigbee2mqtt reports itself offline", alarm.Reason, StringComparison.Ordinal);
        Assert.Contains("40 Zigbee sensors", alarm.Reason, StringComparison.Ordinal);
        Assert.All(home.Defs, d => Assert.Contains($"{d.Id} ({d.Room})", alarm.Reason, StringComparison.Ordinal));
        Assert.Equal((T0.AddMinutes(5), 40, true), (home.Engine.ZigbeeOutage!.Value.Since, home.Engine.ZigbeeOutage.Value.Offline, home.Engine.ZigbeeOutage.Value.Reported));

        home.Send("zigbee2mqtt/bridge/state", "{\"state\":\"online\"}");
        home.Advance(TimeSpan.FromHours(2));
        Assert.Single(home.Alarms);
        Assert.Null(home.Engine.ZigbeeOutage);
    }

    [Fact]
    public void Losing_the_local_broker_is_one_alarm_and_reconnecting_ends_the_outage()
    {
        var home = new ZigbeeHome();
        home.Feed(home.Mapper.OnConnectionLost());
        home.Advance(TimeSpan.FromMinutes(1));
        var alarm = Assert.Single(home.Alarms);
        Assert.Equal(AlarmType.ZigbeeOffline, alarm.Type);
        Assert.Contains("local MQTT broker", alarm.Reason, StringComparison.Ordinal);

        home.Feed(home.Mapper.OnConnected());
        home.Advance(TimeSpan.FromHours(1));
        Assert.Single(home.Alarms);
        Assert.Null(home.Engine.ZigbeeOutage);
    }

    [Fact]
    public void A_broker_blip_or_zigbee2mqtt_restart_shorter_than_the_gathering_time_raises_nothing()
    {
        var home = new ZigbeeHome();
        home.Feed(home.Mapper.OnConnectionLost());
        home.Advance(TimeSpan.FromSeconds(2));
        home.Feed(home.Mapper.OnConnected());
        home.Send("zigbee2mqtt/bridge/state", "offline");
        home.Advance(TimeSpan.FromSeconds(10));
        home.Send("zigbee2mqtt/bridge/state", "online");
        home.Advance(TimeSpan.FromHours(1));

        Assert.Empty(home.Alarms);
        Assert.Null(home.Engine.ZigbeeOutage);
    }

    [Fact]
    public void One_sensor_going_offline_alone_while_the_bridge_is_online_is_one_sensor_offline()
    {
        var home = new ZigbeeHome();
        home.Send("zigbee2mqtt/bridge/state", "online", retained: true);
        home.Send("zigbee2mqtt/dev-07/availability", "{\"state\":\"offline\"}");
        home.Advance(TimeSpan.FromMinutes(5));

        var alarm = Assert.Single(home.Alarms);
        Assert.Equal((AlarmType.SensorOffline, "z-07"), (alarm.Type, alarm.SensorId));
        Assert.Contains("unavailable", alarm.Reason, StringComparison.Ordinal);

        // A supervision timeout (the sensor silent on its own) is its own alarm at once, as before.
        home.Feed([new SensorEvent("z-08", home.Defs[7].Kind, home.Defs[7].Room, false, home.Clock.GetUtcNow(), Type: SensorEventType.Offline, Detail: SensorHealthMonitor.SupervisionTimeout)]);
        Assert.Equal((AlarmType.SensorOffline, "z-08"), (home.Alarms[^1].Type, home.Alarms[^1].SensorId));
        Assert.Equal(2, home.Alarms.Count);
    }

    [Fact]
    public void Every_sensor_becoming_unavailable_within_the_gathering_time_is_one_outage()
    {
        var home = new ZigbeeHome();
        home.Send("zigbee2mqtt/bridge/state", "online", retained: true);
        foreach (var d in home.Defs)
        {
            home.Send($"zigbee2mqtt/{d.Zigbee!.Device}/availability", "offline");
            home.Advance(TimeSpan.FromMilliseconds(200));
        }

        home.Advance(TimeSpan.FromMinutes(5));
        var alarm = Assert.Single(home.Alarms);
        Assert.Equal(AlarmType.ZigbeeOffline, alarm.Type);
        Assert.Contains("40 Zigbee sensors", alarm.Reason, StringComparison.Ordinal);

        foreach (var d in home.Defs)
        {
            home.Send($"zigbee2mqtt/{d.Zigbee!.Device}/availability", "online");
        }

        home.Advance(TimeSpan.FromHours(1));
        Assert.Single(home.Alarms);
        Assert.Null(home.Engine.ZigbeeOutage);
    }

    [Fact]
    public void A_sensor_still_unheard_after_zigbee2mqtt_returns_becomes_its_own_sensor_offline()
    {
        var home = new ZigbeeHome(count: 3);
        home.Send("zigbee2mqtt/bridge/state", "offline");
        home.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(AlarmType.ZigbeeOffline, Assert.Single(home.Alarms).Type);

        // Back online; z-02 went unavailable meanwhile (its availability says so as zigbee2mqtt starts).
        home.Send("zigbee2mqtt/bridge/state", "online");
        home.Send("zigbee2mqtt/dev-02/availability", "offline");
        home.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(2, home.Alarms.Count);
        Assert.Equal((AlarmType.SensorOffline, "z-02"), (home.Alarms[1].Type, home.Alarms[1].SensorId));
        Assert.Null(home.Engine.ZigbeeOutage);
    }

    [Fact]
    public void A_gateway_restart_raises_neither_alarm_with_zigbee2mqtt_up_or_mid_restart()
    {
        var home = new ZigbeeHome();
        home.Send("zigbee2mqtt/bridge/state", "online", retained: true);
        home.Advance(TimeSpan.FromMinutes(1));

        // zigbee2mqtt restarts at the moment the gateway does: its offline is gathered, then the gateway goes down.
        home.Send("zigbee2mqtt/bridge/state", "offline");
        home.Advance(TimeSpan.FromSeconds(5));
        var mapper = home.Restart();
        home.Advance(TimeSpan.FromMinutes(2));

        // After the restart the broker's retained messages: zigbee2mqtt online, every device online.
        foreach (var e in new[] { ("zigbee2mqtt/bridge/state", "{\"state\":\"online\"}") }.Concat(home.Defs.Select(d => ($"zigbee2mqtt/{d.Zigbee!.Device}/availability", "online"))))
        {
            home.Feed(mapper.Handle(e.Item1, Encoding.UTF8.GetBytes(e.Item2), retained: true));
        }

        home.Advance(TimeSpan.FromHours(1));
        Assert.Empty(home.Alarms);
    }

    [Fact]
    public void A_gateway_restart_during_a_reported_outage_raises_no_second_alarm()
    {
        var home = new ZigbeeHome();
        home.Send("zigbee2mqtt/bridge/state", "offline");
        home.Advance(TimeSpan.FromMinutes(1));
        Assert.Single(home.Alarms);

        var mapper = home.Restart();
        home.Feed(mapper.Handle("zigbee2mqtt/bridge/state", Encoding.UTF8.GetBytes("offline"), retained: true));
        home.Advance(TimeSpan.FromMinutes(10));
        Assert.Single(home.Alarms);

        home.Feed(mapper.Handle("zigbee2mqtt/bridge/state", Encoding.UTF8.GetBytes("online"), retained: false));
        home.Advance(TimeSpan.FromMinutes(10));
        Assert.Single(home.Alarms);
        Assert.Null(home.Engine.ZigbeeOutage);
    }

    [Fact]
    public void An_outage_does_not_mute_an_alarm_of_a_wired_sensor()
    {
        var wired = new SensorDefinition { Id = "panic-wired", Kind = SensorKind.Panic, Room = "bedroom" };
        var defs = Sensors(10).Append(wired).ToArray();
        var engine = new RuleEngine(new CareProfile(), defs);
        foreach (var d in defs.Where(d => d.Zigbee is not null))
        {
            engine.OnEvent(new SensorEvent(d.Id, d.Kind, d.Room, false, T0, new SensorHealth { Offline = true }, SensorEventType.Offline, Zigbee2MqttMapper.BridgeOffline));
        }

        var alarm = Assert.Single(engine.OnEvent(new SensorEvent(wired.Id, wired.Kind, wired.Room, true, T0.AddSeconds(5))));
        Assert.Equal(AlarmType.Panic, alarm.Type);
        Assert.Equal(AlarmType.ZigbeeOffline, Assert.Single(engine.RunUntil(T0.AddMinutes(1))).Type);
    }

    [Fact]
    public void A_long_list_of_sensors_is_cut_with_a_count()
    {
        var home = new ZigbeeHome(count: RuleEngine.MaxListedSensors + 20);
        home.Send("zigbee2mqtt/bridge/state", "offline");
        home.Advance(TimeSpan.FromMinutes(1));

        var alarm = Assert.Single(home.Alarms);
        Assert.Contains($"{RuleEngine.MaxListedSensors + 20} Zigbee sensors", alarm.Reason, StringComparison.Ordinal);
        Assert.EndsWith("and 20 more", alarm.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_outage_alarm_follows_the_sensor_offline_switch_of_the_profile()
    {
        var home = new ZigbeeHome(profile: new CareProfile { Technical = new TechnicalRules { SensorOffline = false } });
        home.Send("zigbee2mqtt/bridge/state", "offline");
        home.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(home.Alarms);
    }
}

/// <summary>
/// zigbee2mqtt's <c>bridge/event</c> <c>device_leave</c> (issue 13): the configured sensor of that device becomes one
/// <c>sensor-offline</c> ("left the Zigbee network"), once, until the device joins again or is heard.
/// </summary>
public class DeviceLeaveTests
{
    // As zigbee2mqtt 2.x publishes it (1.x sent only the IEEE address in data).
    private const string Leave = "{\"type\":\"device_leave\",\"data\":{\"ieee_address\":\"0x00158d0003288a07\",\"friendly_name\":\"dev-07\"}}";
    private const string LeaveByAddressOnly = "{\"data\":{\"ieee_address\":\"0x00158d0003288a07\"},\"type\":\"device_leave\"}";
    private const string Joined = "{\"type\":\"device_joined\",\"data\":{\"friendly_name\":\"dev-07\",\"ieee_address\":\"0x00158d0003288a07\"}}";

    private static ZigbeeHome Paired()
    {
        var home = new ZigbeeHome(count: 10);
        var devices = string.Join(",", home.Defs.Select((d, i) => $"{{\"ieee_address\":\"0x00158d0003288a{i + 1:00}\",\"friendly_name\":\"{d.Zigbee!.Device}\",\"type\":\"EndDevice\"}}"));
        home.Send("zigbee2mqtt/bridge/state", "online", retained: true);
        home.Send("zigbee2mqtt/bridge/devices", $"[{devices}]", retained: true);
        return home;
    }

    [Theory]
    [InlineData(Leave)]
    [InlineData(LeaveByAddressOnly)]
    public void A_device_leave_makes_its_sensor_one_sensor_offline_at_once_and_only_once(string payload)
    {
        var home = Paired();
        home.Send("zigbee2mqtt/bridge/event", payload);

        var alarm = Assert.Single(home.Alarms);
        Assert.Equal((AlarmType.SensorOffline, "z-07", home.Defs[6].Room), (alarm.Type, alarm.SensorId, alarm.Room));
        Assert.Contains("left the Zigbee network (device_leave)", alarm.Reason, StringComparison.Ordinal);

        home.Send("zigbee2mqtt/bridge/event", payload); // zigbee2mqtt may say it twice
        home.Advance(TimeSpan.FromHours(1));
        Assert.Single(home.Alarms);
        Assert.Equal(0, home.Mapper.Rejected);
        Assert.Null(home.Engine.ZigbeeOutage);
    }

    [Fact]
    public void A_device_that_joins_again_is_back_and_a_second_leave_is_a_new_alarm()
    {
        var home = Paired();
        home.Send("zigbee2mqtt/bridge/event", Leave);
        var back = home.Mapper.Handle("zigbee2mqtt/bridge/event", System.Text.Encoding.UTF8.GetBytes(Joined), retained: false);
        Assert.Equal((SensorEventType.Online, "z-07", Zigbee2MqttMapper.DeviceRejoined), (Assert.Single(back).Type, back[0].SensorId, back[0].Detail));
        home.Feed(back);

        home.Send("zigbee2mqtt/bridge/event", Leave);
        Assert.Equal(2, home.Alarms.Count(a => a is { Type: AlarmType.SensorOffline, SensorId: "z-07" }));
    }

    [Fact]
    public void A_live_message_from_a_device_that_left_brings_it_back()
    {
        var home = Paired();
        home.Send("zigbee2mqtt/bridge/event", Leave);
        var events = home.Mapper.Handle("zigbee2mqtt/dev-07", System.Text.Encoding.UTF8.GetBytes("{\"smoke\":false,\"battery\":90,\"linkquality\":80}"), retained: false);
        Assert.Contains(events, e => e is { Type: SensorEventType.Online, SensorId: "z-07" });
    }

    [Fact]
    public void Other_bridge_events_and_devices_not_configured_raise_nothing_and_a_malformed_event_is_rejected()
    {
        var home = Paired();
        home.Send("zigbee2mqtt/bridge/event", "{\"type\":\"device_interview\",\"data\":{\"friendly_name\":\"dev-07\",\"status\":\"started\",\"ieee_address\":\"0x00158d0003288a07\"}}");
        home.Send("zigbee2mqtt/bridge/event", "{\"type\":\"device_leave\",\"data\":{\"ieee_address\":\"0x00124b0000000001\",\"friendly_name\":\"neighbours plug\"}}");
        Assert.Empty(home.Alarms);
        Assert.Equal(0, home.Mapper.Rejected);

        home.Send("zigbee2mqtt/bridge/event", "{\"type\":\"device_leave\"}");
        home.Send("zigbee2mqtt/bridge/event", "not json");
        Assert.Equal(2, home.Mapper.Rejected);
        Assert.Empty(home.Alarms);
    }
}
