using System.Text;
using CareGateway.Sensors;
using CareGateway.Sensors.Zigbee;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests.Zigbee;

public class ZigbeeMapperTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 2, 0, 0, TimeSpan.Zero);

    private static Zigbee2MqttMapper Mapper(IEnumerable<SensorDefinition> sensors, TimeProvider? time = null) =>
        new("zigbee2mqtt", sensors, time ?? new FakeTimeProvider(T0), NullLogger.Instance);

    private static IReadOnlyList<SensorEvent> Send(Zigbee2MqttMapper m, string topic, string payload, bool retained = false) =>
        m.Handle(topic, Encoding.UTF8.GetBytes(payload), retained);

    private static SensorDefinition Zigbee(string id, SensorKind kind, string device) =>
        new() { Id = id, Kind = kind, Room = "hallway", Zigbee = new ZigbeeSensorOptions { Device = device } };

    [Fact]
    public void The_corpus_covers_at_least_40_device_models_and_every_zigbee_kind()
    {
        var models = ZigbeeCorpus.All.Select(f => (f.Vendor, f.Model)).Distinct().Count();
        Assert.True(models >= 40, $"only {models} device models in the corpus");
        var kinds = ZigbeeCorpus.All.Select(f => f.Sensor.Kind).ToHashSet();
        SensorKind[] needed = [
            SensorKind.Door, SensorKind.Motion, SensorKind.Presence, SensorKind.Fall, SensorKind.Panic, SensorKind.Smoke, SensorKind.Water, SensorKind.Bed,
            SensorKind.CancelButton, SensorKind.CarbonMonoxide, SensorKind.Gas, SensorKind.Temperature, SensorKind.Vibration];
        Assert.All(needed, k => Assert.Contains(k, kinds));
    }

    [Theory]
    [MemberData(nameof(ZigbeeCorpus.Files), MemberType = typeof(ZigbeeCorpus))]
    public void Every_fixture_message_yields_the_expected_events(string file)
    {
        var fixture = ZigbeeCorpus.Get(file);
        var mapper = Mapper([fixture.Sensor]);
        Assert.Empty(Send(mapper, "zigbee2mqtt/bridge/state", "{\"state\":\"online\"}", retained: true));
        Assert.Empty(Send(mapper, "zigbee2mqtt/bridge/devices", ZigbeeCorpus.DeviceList([fixture]), retained: true));
        Assert.True(mapper.Devices.ContainsKey(fixture.FriendlyName));

        foreach (var (payload, expect) in fixture.Messages)
        {
            var events = Send(mapper, "zigbee2mqtt/" + fixture.FriendlyName, payload);
            var expected = ZigbeeCorpus.Expected(expect).ToList();
            Assert.Equal(expected.Count, events.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(fixture.Sensor.Id, events[i].SensorId);
                Assert.Equal(expected[i].Type, events[i].Type);
                if (expected[i].Active is { } active)
                {
                    Assert.Equal(active, events[i].Active);
                }

                Assert.Equal(ZigbeeCorpus.ExpectedValue(expect), events[i].Value);
            }

            // Link quality is a health field of every zigbee2mqtt device message.
            Assert.NotNull(events[0].Health?.LinkQuality);
        }

        Assert.Equal(0, mapper.Rejected);
    }

    [Fact]
    public void Retained_state_never_fires_and_is_no_baseline_so_the_next_live_alarm_still_fires()
    {
        var mapper = Mapper([Zigbee("smoke-1", SensorKind.Smoke, "kitchen/smoke")]);

        var stale = Send(mapper, "zigbee2mqtt/kitchen/smoke", "{\"smoke\":true,\"battery\":90}", retained: true);
        var cleared = Send(mapper, "zigbee2mqtt/kitchen/smoke", "{\"smoke\":false,\"battery\":90,\"linkquality\":80}");
        var staleAgain = Send(mapper, "zigbee2mqtt/kitchen/smoke", "{\"smoke\":true}", retained: true);
        var repeat = Send(mapper, "zigbee2mqtt/kitchen/smoke", "{\"smoke\":false}");
        var fire = Send(mapper, "zigbee2mqtt/kitchen/smoke", "{\"smoke\":true}");
        var cached = Send(mapper, "zigbee2mqtt/kitchen/smoke", "{\"smoke\":true,\"battery\":89}");

        Assert.Equal(SensorEventType.Heard, Assert.Single(stale).Type);
        Assert.Equal(90, stale[0].Health!.BatteryPercent);
        Assert.Equal((SensorEventType.State, false), (Assert.Single(cleared).Type, cleared[0].Active));
        Assert.Equal((SensorEventType.Heard, false), (Assert.Single(staleAgain).Type, staleAgain[0].Active));
        Assert.Equal(SensorEventType.Heard, Assert.Single(repeat).Type);
        Assert.Equal((SensorEventType.State, true), (Assert.Single(fire).Type, fire[0].Active));
        Assert.Equal(SensorEventType.Heard, Assert.Single(cached).Type); // z2m repeats cached keys: no second alarm
    }

    [Fact]
    public void A_retained_action_is_never_a_press_and_an_empty_action_is_nothing()
    {
        var mapper = Mapper([Zigbee("panic-1", SensorKind.Panic, "sos")]);

        Assert.Equal(SensorEventType.Heard, Assert.Single(Send(mapper, "zigbee2mqtt/sos", "{\"action\":\"emergency\"}", retained: true)).Type);
        Assert.Equal(SensorEventType.Heard, Assert.Single(Send(mapper, "zigbee2mqtt/sos", "{\"action\":\"\"}")).Type);
        var press = Send(mapper, "zigbee2mqtt/sos", "{\"action\":\"emergency\"}");
        Assert.Equal([true, false], press.Select(e => e.Active));
        Assert.All(press, e => Assert.Equal(SensorEventType.State, e.Type));
    }

    [Fact]
    public void A_panic_device_with_an_emergency_action_ignores_its_other_actions()
    {
        var mapper = Mapper([Zigbee("panic-1", SensorKind.Panic, "remote")]);
        Send(mapper, "zigbee2mqtt/bridge/devices", """
            [{"ieee_address":"0x01","friendly_name":"remote","definition":{"vendor":"V","model":"M","exposes":[
              {"type":"enum","name":"action","property":"action","access":1,"values":["emergency","disarm","arm_all_zones"]}]}}]
            """, retained: true);

        Assert.Equal(SensorEventType.Heard, Assert.Single(Send(mapper, "zigbee2mqtt/remote", "{\"action\":\"disarm\"}")).Type);
        Assert.Equal(2, Send(mapper, "zigbee2mqtt/remote", "{\"action\":\"emergency\"}").Count);
    }

    [Theory]
    [InlineData("offline", "online")]
    [InlineData("{\"state\":\"offline\"}", "{\"state\":\"online\"}")]
    public void Availability_in_both_forms_makes_a_sensor_offline_and_online(string offline, string online)
    {
        var mapper = Mapper([Zigbee("door-1", SensorKind.Door, "hall/door"), Zigbee("pir-1", SensorKind.Motion, "hall/pir")]);
        Send(mapper, "zigbee2mqtt/hall/door", "{\"contact\":false}");

        var down = Send(mapper, "zigbee2mqtt/hall/door/availability", offline, retained: true);
        var same = Send(mapper, "zigbee2mqtt/hall/door/availability", offline);
        var up = Send(mapper, "zigbee2mqtt/hall/door/availability", online);

        var e = Assert.Single(down);
        Assert.Equal((SensorEventType.Offline, "door-1", "device-unavailable"), (e.Type, e.SensorId, e.Detail));
        Assert.True(e.Active); // the last known state: the door was open
        Assert.Empty(same);
        Assert.Equal((SensorEventType.Online, "door-1"), (Assert.Single(up).Type, up[0].SensorId));
    }

    [Theory]
    [InlineData("offline", "online")]
    [InlineData("{\"state\":\"offline\"}", "{\"state\":\"online\"}")]
    public void Zigbee2mqtt_going_down_is_a_fault_for_every_zigbee_sensor_not_silence(string offline, string online)
    {
        var mapper = Mapper([Zigbee("door-1", SensorKind.Door, "hall/door"), Zigbee("smoke-1", SensorKind.Smoke, "kitchen/smoke")]);
        Assert.Empty(Send(mapper, "zigbee2mqtt/bridge/state", online, retained: true));

        var down = Send(mapper, "zigbee2mqtt/bridge/state", offline);
        Assert.Equal(["door-1", "smoke-1"], down.Select(e => e.SensorId));
        Assert.All(down, e => Assert.Equal((SensorEventType.Offline, "zigbee2mqtt-offline"), (e.Type, e.Detail)));
        Assert.False(mapper.BridgeOnline);

        var up = Send(mapper, "zigbee2mqtt/bridge/state", online);
        Assert.All(up, e => Assert.Equal(SensorEventType.Online, e.Type));
        Assert.Equal(2, up.Count);
    }

    [Fact]
    public void Losing_the_local_broker_makes_zigbee_sensors_offline_until_it_is_back()
    {
        var mapper = Mapper([Zigbee("door-1", SensorKind.Door, "door")]);

        var lost = Assert.Single(mapper.OnConnectionLost());
        Assert.Equal(("door-1", SensorEventType.Offline, "local-broker-unreachable"), (lost.SensorId, lost.Type, lost.Detail));
        Assert.Empty(mapper.OnConnectionLost());
        Assert.Equal(SensorEventType.Online, Assert.Single(mapper.OnConnected()).Type);
    }

    [Fact]
    public void An_undeclared_device_is_reported_once_and_ignored()
    {
        var mapper = Mapper([Zigbee("door-1", SensorKind.Door, "hall/door")]);

        Assert.Empty(Send(mapper, "zigbee2mqtt/neighbour/plug", "{\"state\":\"ON\"}"));
        Assert.Empty(Send(mapper, "zigbee2mqtt/neighbour/plug", "{\"state\":\"OFF\"}"));

        Assert.Equal(["neighbour/plug"], mapper.UndeclaredDevices);
        Assert.Equal(0, mapper.Rejected);
    }

    [Fact]
    public void A_device_declared_by_ieee_address_is_found_under_its_friendly_name_with_slashes()
    {
        var mapper = Mapper([Zigbee("water-1", SensorKind.Water, "0x00158d0001a2b021")]);
        Send(mapper, "zigbee2mqtt/bridge/devices", """[{"ieee_address":"0x00158d0001a2b021","friendly_name":"first floor/bathroom/leak","definition":null}]""", retained: true);

        var e = Assert.Single(Send(mapper, "zigbee2mqtt/first floor/bathroom/leak", "{\"water_leak\":true}"));

        Assert.Equal(("water-1", true, SensorEventType.State), (e.SensorId, e.Active, e.Type));
        Assert.Empty(Send(mapper, "zigbee2mqtt/first floor/bathroom/leak/set", "{\"water_leak\":false}"));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[1,2,3]")]
    [InlineData("\"contact\"")]
    [InlineData("{\"contact\":\"open\"}")]
    [InlineData("{\"contact\":true,\"battery\":\"full\"}")]
    [InlineData("{\"contact\":true,\"linkquality\":9000}")]
    [InlineData("{\"contact\":true,\"tamper\":1}")]
    [InlineData("{\"contact\":")]
    public void A_malformed_message_is_rejected_counted_and_the_mapper_carries_on(string payload)
    {
        var mapper = Mapper([Zigbee("door-1", SensorKind.Door, "door")]);

        Assert.Empty(Send(mapper, "zigbee2mqtt/door", payload));
        Assert.Equal(1, mapper.Rejected);

        var e = Assert.Single(Send(mapper, "zigbee2mqtt/door", "{\"contact\":false}"));
        Assert.True(e.Active);
    }

    [Fact]
    public void A_huge_message_is_rejected_unread()
    {
        var mapper = Mapper([Zigbee("door-1", SensorKind.Door, "door")]);
        var huge = "{\"contact\":true,\"x\":\"" + new string('a', Zigbee2MqttMapper.MaxDeviceMessageBytes) + "\"}";

        Assert.Empty(Send(mapper, "zigbee2mqtt/door", huge));
        Assert.Equal(1, mapper.Rejected);
    }

    [Fact]
    public void Bad_availability_and_bridge_state_are_rejected()
    {
        var mapper = Mapper([Zigbee("door-1", SensorKind.Door, "door")]);

        Assert.Empty(Send(mapper, "zigbee2mqtt/door/availability", "maybe"));
        Assert.Empty(Send(mapper, "zigbee2mqtt/bridge/state", "{\"state\":42}"));
        Assert.Empty(Send(mapper, "zigbee2mqtt/bridge/devices", "{\"not\":\"an array\"}"));

        Assert.Equal(3, mapper.Rejected);
    }

    [Fact]
    public void Zigbee2mqtt_last_seen_dates_a_queued_message_but_never_into_the_future()
    {
        var clock = new FakeTimeProvider(T0);
        var mapper = Mapper([Zigbee("door-1", SensorKind.Door, "door")], clock);

        var queued = Send(mapper, "zigbee2mqtt/door", "{\"contact\":false,\"last_seen\":\"2026-11-24T01:58:30.000Z\"}");
        var future = Send(mapper, "zigbee2mqtt/door", "{\"contact\":true,\"last_seen\":\"2030-01-01T00:00:00Z\"}");

        Assert.Equal(T0.AddSeconds(-90), queued[0].At);
        Assert.Equal(T0, future[0].At);
    }

    [Theory]
    [InlineData("{\"fall_down_status\":\"fall\"}", true)]
    [InlineData("{\"fall_down_status\":\"maybe_fall\"}", true)]
    [InlineData("{\"fall_down_status\":\"none\"}", false)]
    [InlineData("{\"fall\":true}", true)]
    [InlineData("{\"fall_state\":\"no_fall\"}", false)]
    public void Fall_properties_and_enums_map_generically(string payload, bool active)
    {
        var mapper = Mapper([Zigbee("fall-1", SensorKind.Fall, "radar")]);

        Assert.Equal(active, Assert.Single(Send(mapper, "zigbee2mqtt/radar", payload)).Active);
    }

    [Fact]
    public void A_message_outside_the_base_topic_is_not_ours()
    {
        var mapper = Mapper([Zigbee("door-1", SensorKind.Door, "door")]);

        Assert.Empty(Send(mapper, "other/door", "garbage"));
        Assert.Equal(0, mapper.Rejected);
    }
}
