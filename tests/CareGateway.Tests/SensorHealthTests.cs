using System.Text;
using CareGateway.Protocol;
using CareGateway.Sensors;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

public class SensorHealthTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 0, 0, TimeSpan.Zero);

    private static SensorDefinition Zigbee(string id, SensorKind kind, int? supervisionMinutes = null) =>
        new() { Id = id, Kind = kind, Room = "kitchen", Zigbee = new ZigbeeSensorOptions { Device = id }, SupervisionMinutes = supervisionMinutes };

    private static SensorEvent Heard(SensorDefinition s, DateTimeOffset at, SensorHealth? health = null, bool active = false) =>
        new(s.Id, s.Kind, s.Room, active, at, health, SensorEventType.Heard);

    [Fact]
    public void Supervision_defaults_by_kind_and_source()
    {
        Assert.Equal(TimeSpan.FromHours(25), SensorHealthMonitor.SupervisionOf(Zigbee("smoke-1", SensorKind.Smoke)));
        Assert.Equal(TimeSpan.FromHours(1), SensorHealthMonitor.SupervisionOf(Zigbee("fall-1", SensorKind.Fall)));
        Assert.Equal(TimeSpan.FromMinutes(30), SensorHealthMonitor.SupervisionOf(Zigbee("door-1", SensorKind.Door, 30)));
        Assert.Null(SensorHealthMonitor.SupervisionOf(new SensorDefinition { Id = "door-2", Kind = SensorKind.Door, Room = "hall", Gpio = new() { Line = 17 } }));
    }

    [Fact]
    public void A_sensor_silent_longer_than_its_timeout_goes_offline_once_and_back_online_when_heard()
    {
        var clock = new FakeTimeProvider(T0);
        var smoke = Zigbee("smoke-1", SensorKind.Smoke, supervisionMinutes: 60);
        var emitted = new List<SensorEvent>();
        using var monitor = new SensorHealthMonitor([smoke], clock, emitted.Add);
        monitor.Observe(Heard(smoke, T0, new SensorHealth { BatteryPercent = 80, LinkQuality = 120 }));

        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Empty(emitted);
        clock.Advance(TimeSpan.FromMinutes(3));

        var offline = Assert.Single(emitted);
        Assert.Equal((SensorEventType.Offline, SensorHealthMonitor.SupervisionTimeout), (offline.Type, offline.Detail));
        Assert.False(monitor.Get("smoke-1")!.Online);
        clock.Advance(TimeSpan.FromHours(3));
        Assert.Single(emitted); // reported once, not every minute

        monitor.Observe(Heard(smoke, clock.GetUtcNow(), new SensorHealth { BatteryLow = true }));
        Assert.Equal(SensorEventType.Online, emitted[^1].Type);
        var status = monitor.Get("smoke-1")!;
        Assert.True(status.Online);
        Assert.Equal((80, true, 120), (status.BatteryPercent, status.BatteryLow, status.LinkQuality));
    }

    [Fact]
    public void A_motion_sensors_state_reaches_the_centre_at_most_once_a_minute_but_its_health_at_once_and_a_door_every_time()
    {
        var clock = new FakeTimeProvider(T0);
        var pir = Zigbee("pir-1", SensorKind.Motion);
        var door = Zigbee("door-1", SensorKind.Door);
        using var monitor = new SensorHealthMonitor([pir, door], clock, _ => { });
        var changes = new List<SensorStatus>();
        monitor.Changed += changes.Add;
        SensorEvent State(SensorDefinition s, bool active, SensorHealth? health = null) => new(s.Id, s.Kind, s.Room, active, clock.GetUtcNow(), health);

        monitor.Observe(State(pir, true)); // the first report goes out
        for (var i = 0; i < 10; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(2));
            monitor.Observe(State(pir, i % 2 == 1));
            monitor.Observe(State(door, i % 2 == 0));
        }

        Assert.Single(changes, c => c.SensorId == pir.Id);
        Assert.Equal(10, changes.Count(c => c.SensorId == door.Id));

        // A health change of the motion sensor is not held back.
        clock.Advance(TimeSpan.FromSeconds(2));
        monitor.Observe(State(pir, false, new SensorHealth { BatteryLow = true }));
        Assert.True(changes[^1] is { SensorId: "pir-1", BatteryLow: true });

        // The latest state follows by the silence check once the minute has passed.
        clock.Advance(TimeSpan.FromSeconds(2));
        monitor.Observe(State(pir, true));
        var before = changes.Count;
        clock.Advance(TimeSpan.FromMinutes(2));
        var late = Assert.Single(changes.Skip(before));
        Assert.True(late is { SensorId: "pir-1", Active: true });
    }

    [Fact]
    public void Wired_sensors_are_not_supervised()
    {
        var clock = new FakeTimeProvider(T0);
        var emitted = new List<SensorEvent>();
        using var monitor = new SensorHealthMonitor([new SensorDefinition { Id = "door-1", Kind = SensorKind.Door, Room = "hall", Gpio = new() { Line = 17 } }], clock, emitted.Add);

        clock.Advance(TimeSpan.FromDays(10));

        Assert.Empty(emitted);
        Assert.True(monitor.Get("door-1")!.Online);
    }

    [Fact]
    public void An_offline_event_from_the_source_is_kept_with_its_reason_and_changes_are_published()
    {
        var clock = new FakeTimeProvider(T0);
        var door = Zigbee("door-1", SensorKind.Door);
        using var monitor = new SensorHealthMonitor([door], clock, _ => { });
        var changes = new List<SensorStatus>();
        monitor.Changed += changes.Add;

        monitor.Observe(new SensorEvent(door.Id, door.Kind, door.Room, true, T0, null, SensorEventType.State));
        monitor.Observe(Heard(door, T0.AddSeconds(10), active: true)); // only last seen changed: not republished at once
        monitor.Observe(new SensorEvent(door.Id, door.Kind, door.Room, true, T0, null, SensorEventType.Offline, "zigbee2mqtt-offline"));

        Assert.Equal(2, changes.Count);
        Assert.Equal((true, T0), (changes[0].Active, changes[0].StateSince));
        Assert.Equal((false, "zigbee2mqtt-offline"), (changes[1].Online, changes[1].OfflineReason));
    }

    [Fact]
    public void The_published_status_matches_its_schema_and_parses()
    {
        var status = new SensorStatus
        {
            SensorId = "water-bath", Kind = SensorKind.Water, Room = "bathroom", Source = "zigbee", Active = false, StateSince = T0,
            Online = false, OfflineReason = "device-unavailable", LastSeen = T0, BatteryPercent = 55, BatteryLow = false, Tamper = true,
            LinkQuality = 77, Supervision = TimeSpan.FromHours(25),
        };

        var bytes = SensorStatusJson.Serialize(SensorStatusPublisher.ToMessage("gw-0042", status, T0));

        SchemaValidation.AssertValid("sensor", Encoding.UTF8.GetString(bytes));
        Assert.True(SensorStatusJson.TryParse(bytes, out var parsed, out var error), error);
        Assert.Equal(("water", "inactive", 90000), (parsed.Kind, parsed.State, parsed.SupervisionSeconds));
        Assert.Equal("care/v1/gw-0042/sensors/water-bath", Topics.Sensor("gw-0042", "water-bath"));
    }

    [Fact]
    public void A_sensor_that_never_reported_is_unknown_on_the_wire_and_valid()
    {
        var status = new SensorStatus { SensorId = "pir-1", Kind = SensorKind.CancelButton, Room = "hall", Source = "gpio" };

        var json = Encoding.UTF8.GetString(SensorStatusJson.Serialize(SensorStatusPublisher.ToMessage("gw-1", status, T0)));

        SchemaValidation.AssertValid("sensor", json);
        Assert.Contains("\"state\":\"unknown\"", json, StringComparison.Ordinal);
        Assert.Contains("\"kind\":\"cancel-button\"", json, StringComparison.Ordinal);
    }
}

public class SensorHealthAfterOutageTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Sensors_back_after_a_long_zigbee2mqtt_outage_get_a_full_supervision_time_before_they_count_as_silent()
    {
        var clock = new FakeTimeProvider(T0);
        var sensors = Enumerable.Range(1, 5).Select(i => new SensorDefinition
        {
            Id = $"radar-{i}", Kind = SensorKind.Presence, Room = "kitchen", Zigbee = new ZigbeeSensorOptions { Device = $"radar-{i}" },
        }).ToList();
        var emitted = new List<SensorEvent>();
        using var monitor = new SensorHealthMonitor(sensors, clock, emitted.Add);
        foreach (var s in sensors)
        {
            monitor.Observe(new SensorEvent(s.Id, s.Kind, s.Room, false, T0, null, SensorEventType.Heard));
            monitor.Observe(new SensorEvent(s.Id, s.Kind, s.Room, false, T0, null, SensorEventType.Offline, "zigbee2mqtt-offline"));
        }

        clock.Advance(TimeSpan.FromHours(3)); // longer than a radar's one-hour supervision
        foreach (var s in sensors)
        {
            monitor.Observe(new SensorEvent(s.Id, s.Kind, s.Room, false, clock.GetUtcNow(), null, SensorEventType.Online, "zigbee2mqtt-online"));
        }

        clock.Advance(TimeSpan.FromMinutes(50));
        Assert.Empty(emitted); // not 5 supervision timeouts right after the outage

        clock.Advance(TimeSpan.FromMinutes(12)); // a full hour after the return, still unheard: now each is silent
        Assert.Equal(5, emitted.Count(e => e.Detail == SensorHealthMonitor.SupervisionTimeout));
    }
}
