using System.Text.Json.Serialization;

namespace CareGateway.Sensors;

/// <summary>A sensor as the configuration declares it.</summary>
public sealed record SensorDefinition
{
    /// <summary>Stable id, unique in the home (e.g. <c>door-front</c>). Goes over the wire: no personal data.</summary>
    public required string Id { get; init; }

    public required SensorKind Kind { get; init; }

    /// <summary>Room label (e.g. <c>hallway</c>, <c>bedroom</c>, <c>bathroom</c>).</summary>
    public required string Room { get; init; }

    /// <summary>For doors: the exit door of the home, watched by the night-wandering rule.</summary>
    public bool OuterDoor { get; init; }

    /// <summary>
    /// For motion and presence sensors: whether what it sees is the resident. False for a sensor that also sees a pet, a
    /// partner or a visitor (not pet-immune, or placed where others go): its events are then not the resident's activity
    /// (no return after a night door opening, no end of the away state, no reset of inactivity, no bathroom stay).
    /// A setter, not init: the JSON source generator would set an absent init property to false, not keep the default.
    /// </summary>
    public bool CountsAsResident { get; set; } = true;

    /// <summary>The sensor is wired to a GPIO input.</summary>
    public GpioInputOptions? Gpio { get; init; }

    /// <summary>The sensor is a Zigbee device paired to zigbee2mqtt.</summary>
    public ZigbeeSensorOptions? Zigbee { get; init; }

    /// <summary>Silence longer than this is <c>sensor-offline</c>; omitted: the default of its kind and source (docs/sensors.md).</summary>
    public int? SupervisionMinutes { get; init; }
}

/// <summary>How a contact is wired: it decides, with the pull, which line level means active.</summary>
public enum ContactWiring
{
    /// <summary>The contact closes when the sensor becomes active (button pressed, mat occupied, NO alarm contact).</summary>
    [JsonStringEnumMemberName("normally-open")] NormallyOpen,

    /// <summary>The contact opens when the sensor becomes active (door contact loop, NC pull cord); a cut wire reads as active.</summary>
    [JsonStringEnumMemberName("normally-closed")] NormallyClosed,
}

/// <summary>A Zigbee sensor: which zigbee2mqtt device backs it.</summary>
public sealed record ZigbeeSensorOptions
{
    /// <summary>The zigbee2mqtt friendly name (may contain '/') or the IEEE address (<c>0x00158d0001a2b3c4</c>).</summary>
    public string Device { get; set; } = string.Empty;
}

/// <summary>A GPIO output (buzzer, LED).</summary>
public sealed record GpioOutputOptions
{
    /// <summary>For LEDs: a short name (<c>red</c>, <c>status</c>).</summary>
    public string? Name { get; set; }

    /// <summary>GPIO line (BCM numbering); give this or <see cref="HeaderPin"/>.</summary>
    public int? Line { get; set; }

    /// <summary>Physical pin of the 40-pin header (1-40); give this or <see cref="Line"/>.</summary>
    public int? HeaderPin { get; set; }

    /// <summary>The level that switches the output on.</summary>
    public ActiveLevel ActiveLevel { get; set; } = ActiveLevel.High;
}

public enum ActiveLevel
{
    [JsonStringEnumMemberName("high")] High,
    [JsonStringEnumMemberName("low")] Low,
}

public enum PullMode
{
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("up")] Up,
    [JsonStringEnumMemberName("down")] Down,
}

/// <summary>How a wired sensor is connected.</summary>
public sealed record GpioInputOptions
{
    /// <summary>GPIO line number on the board's GPIO chip (BCM numbering on a Raspberry Pi); give this or <see cref="HeaderPin"/>.</summary>
    public int? Line { get; set; }

    /// <summary>Physical pin of the 40-pin header (1-40), translated to a line by the board profile.</summary>
    public int? HeaderPin { get; set; }

    /// <summary>The line level that means the sensor is active (door open, button pressed, bed occupied...); ignored when <see cref="Wiring"/> is set.</summary>
    public ActiveLevel ActiveLevel { get; set; } = ActiveLevel.High;

    /// <summary>For contacts: how the contact is wired; with <see cref="Pull"/> it decides the active level.</summary>
    public ContactWiring? Wiring { get; set; }

    /// <summary>For bed mats: an absence must hold this long before "out of bed" is reported (turning over is not leaving).</summary>
    public int SettleMs { get; set; }

    public PullMode Pull { get; set; } = PullMode.None;

    /// <summary>A level must hold this long before it counts: contact bounce of tens of milliseconds yields one event.</summary>
    public int DebounceMs { get; set; } = 50;
}

public static class GpioWiring
{
    /// <summary>
    /// The contact a wired sensor of <paramref name="kind"/> has when nothing else is said (<c>sensors add</c> without
    /// <c>--wiring</c> or <c>--active-low</c>, docs/sensors.md): a door's loop is closed while the door is shut, so it
    /// opens when active (normally-closed); a button, a mat and a detector's relay close when active (normally-open).
    /// With a pull-up a normally-open panic button then reads low when pressed and high at rest.
    /// </summary>
    public static ContactWiring DefaultWiring(SensorKind kind) => kind == SensorKind.Door ? ContactWiring.NormallyClosed : ContactWiring.NormallyOpen;

    /// <summary>
    /// The line level that means active. A contact connects the line to the rail opposite its pull (pull-up: to ground),
    /// so a closed contact reads low with a pull-up and high with a pull-down. Normally-open: closed when active.
    /// Normally-closed: open when active. Without <see cref="GpioInputOptions.Wiring"/> the configured active level holds.
    /// </summary>
    public static ActiveLevel EffectiveActiveLevel(this GpioInputOptions gpio)
    {
        ArgumentNullException.ThrowIfNull(gpio);
        if (gpio.Wiring is not { } wiring || gpio.Pull == PullMode.None)
        {
            return gpio.ActiveLevel;
        }

        var closedLevel = gpio.Pull == PullMode.Up ? ActiveLevel.Low : ActiveLevel.High;
        var openLevel = closedLevel == ActiveLevel.Low ? ActiveLevel.High : ActiveLevel.Low;
        return wiring == ContactWiring.NormallyOpen ? closedLevel : openLevel;
    }
}
