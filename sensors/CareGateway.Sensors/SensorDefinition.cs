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

    /// <summary>The sensor is wired to a GPIO input.</summary>
    public GpioInputOptions? Gpio { get; init; }
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
    /// <summary>GPIO line number on the board's GPIO chip (BCM numbering on a Raspberry Pi).</summary>
    public required int Line { get; init; }

    /// <summary>The line level that means the sensor is active (door open, button pressed, bed occupied...).</summary>
    public ActiveLevel ActiveLevel { get; set; } = ActiveLevel.High;

    public PullMode Pull { get; set; } = PullMode.None;

    /// <summary>A level must hold this long before it counts: contact bounce of tens of milliseconds yields one event.</summary>
    public int DebounceMs { get; set; } = 50;
}
