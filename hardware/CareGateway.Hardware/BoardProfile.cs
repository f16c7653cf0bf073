using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json.Serialization;

namespace CareGateway.Hardware;

/// <summary>The boards the gateway knows. All Raspberry Pi models here share the same 40-pin header layout.</summary>
public enum BoardModel
{
    /// <summary>The simulated board: the Raspberry Pi header layout, no hardware.</summary>
    [JsonStringEnumMemberName("simulated")] Simulated,
    [JsonStringEnumMemberName("rpi3")] RaspberryPi3,
    [JsonStringEnumMemberName("rpi4")] RaspberryPi4,
    [JsonStringEnumMemberName("rpi5")] RaspberryPi5,
    [JsonStringEnumMemberName("zero2w")] RaspberryPiZero2W,
    /// <summary>Compute Module 4 on an IO board that brings GPIO 0-27 out on the standard 40-pin header.</summary>
    [JsonStringEnumMemberName("cm4")] ComputeModule4,
}

/// <summary>What a header pin is for.</summary>
public enum HeaderPinUse
{
    Gpio,
    Power3V3,
    Power5V,
    Ground,
}

/// <summary>A GPIO line with a function the gateway must leave alone unless told otherwise.</summary>
/// <param name="Bus">The bus that owns the line: <c>i2c</c>, <c>uart</c>, <c>spi</c> or <c>id-eeprom</c>.</param>
/// <param name="Function">The signal, as in "reserved for I2C SDA".</param>
public sealed record ReservedLine(string Bus, string Function);

/// <summary>One pin of the 40-pin header.</summary>
public sealed record HeaderPin(int Number, HeaderPinUse Use, int? Line);

/// <summary>
/// A board profile: which header pin is which GPIO line (BCM numbering), which lines are reserved for buses, and how to
/// find the gpiochip that carries the header. Pure data: validation and driver selection use it without touching hardware.
/// </summary>
public sealed class BoardProfile
{
    /// <summary>Line count of the RP1 chip that carries the Pi 5 header (gpiochip4 on older kernels, gpiochip0 on newer).</summary>
    public const int Rp1LineCount = 54;

    // Header pin -> BCM GPIO line for the 40-pin header (identical on Pi 3, 4, 5, Zero 2 W and the CM4 IO board).
    private static readonly FrozenDictionary<int, HeaderPin> Header = BuildHeader();

    private static readonly FrozenDictionary<int, ReservedLine> Reserved = new Dictionary<int, ReservedLine>
    {
        [0] = new("id-eeprom", "HAT ID EEPROM data (ID_SD)"),
        [1] = new("id-eeprom", "HAT ID EEPROM clock (ID_SC)"),
        [2] = new("i2c", "I2C SDA"),
        [3] = new("i2c", "I2C SCL"),
        [7] = new("spi", "SPI0 CE1"),
        [8] = new("spi", "SPI0 CE0"),
        [9] = new("spi", "SPI0 MISO"),
        [10] = new("spi", "SPI0 MOSI"),
        [11] = new("spi", "SPI0 SCLK"),
        [14] = new("uart", "UART TXD"),
        [15] = new("uart", "UART RXD"),
    }.ToFrozenDictionary();

    private BoardProfile(BoardModel model, string name, int? fixedChip, int? chipLineCount)
    {
        Model = model;
        Name = name;
        FixedChip = fixedChip;
        ChipLineCount = chipLineCount;
    }

    public BoardModel Model { get; }

    public string Name { get; }

    /// <summary>The gpiochip that carries the header when it is always the same one (0 on Pi 3/4/Zero 2 W/CM4).</summary>
    public int? FixedChip { get; }

    /// <summary>When the chip number varies by kernel (Pi 5), the line count that identifies the header's chip.</summary>
    public int? ChipLineCount { get; }

    /// <summary>The GPIO lines that the header brings out: 0-27.</summary>
    public static int HeaderLineCount => 28;

    public static BoardProfile For(BoardModel model) => model switch
    {
        BoardModel.Simulated => new(model, "simulated board", null, null),
        BoardModel.RaspberryPi3 => new(model, "Raspberry Pi 3", 0, null),
        BoardModel.RaspberryPi4 => new(model, "Raspberry Pi 4", 0, null),
        BoardModel.RaspberryPi5 => new(model, "Raspberry Pi 5", null, Rp1LineCount),
        BoardModel.RaspberryPiZero2W => new(model, "Raspberry Pi Zero 2 W", 0, null),
        BoardModel.ComputeModule4 => new(model, "Compute Module 4", 0, null),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "unknown board model"),
    };

    /// <summary>The header pin, or null when the header has no such pin (valid: 1-40).</summary>
    public static HeaderPin? Pin(int headerPin) => Header.GetValueOrDefault(headerPin);

    /// <summary>The header pin that carries a GPIO line, or null when the header does not bring the line out.</summary>
    public static int? HeaderPinOf(int line) => Header.Values.FirstOrDefault(p => p.Line == line)?.Number;

    /// <summary>Whether the line exists on the header (GPIO 0-27).</summary>
    public static bool IsHeaderLine(int line) => line is >= 0 and < 28;

    /// <summary>The bus function of a line, or null when it is free for sensors.</summary>
    public static ReservedLine? ReservedFor(int line) => Reserved.GetValueOrDefault(line);

    /// <summary>
    /// The gpiochip to open: the configured one if given, else the fixed one, else the first chip whose line count matches
    /// (the Pi 5's RP1 has 54 lines; the chip number depends on the kernel).
    /// </summary>
    /// <param name="configured">The chip number from the configuration, if any.</param>
    /// <param name="chips">The chips present: number and line count (from the adapter that lists /dev/gpiochip*).</param>
    public int ChooseChip(int? configured, IEnumerable<(int Chip, int Lines)> chips)
    {
        ArgumentNullException.ThrowIfNull(chips);
        if (configured is { } c)
        {
            return c;
        }

        if (FixedChip is { } f)
        {
            return f;
        }

        if (ChipLineCount is { } count)
        {
            var found = chips.OrderBy(x => x.Chip).Where(x => x.Lines == count).Select(x => (int?)x.Chip).FirstOrDefault();
            return found ?? throw new InvalidOperationException(string.Create(
                CultureInfo.InvariantCulture,
                $"{Name}: no gpiochip with {count} lines found (the header's chip); set board.chip in the configuration"));
        }

        return 0;
    }

    private static FrozenDictionary<int, HeaderPin> BuildHeader()
    {
        // Left column odd pins, right column even pins, as printed on the board.
        int?[] lines =
        [
            null, null, // 1 3V3, 2 5V
            2, null,    // 3 GPIO2 SDA, 4 5V
            3, null,    // 5 GPIO3 SCL, 6 GND
            4, 14,      // 7, 8 TXD
            null, 15,   // 9 GND, 10 RXD
            17, 18,     // 11, 12
            27, null,   // 13, 14 GND
            22, 23,     // 15, 16
            null, 24,   // 17 3V3, 18
            10, null,   // 19 MOSI, 20 GND
            9, 25,      // 21 MISO, 22
            11, 8,      // 23 SCLK, 24 CE0
            null, 7,    // 25 GND, 26 CE1
            0, 1,       // 27 ID_SD, 28 ID_SC
            5, null,    // 29, 30 GND
            6, 12,      // 31, 32
            13, null,   // 33, 34 GND
            19, 16,     // 35, 36
            26, 20,     // 37, 38
            null, 21,   // 39 GND, 40
        ];
        var power = new Dictionary<int, HeaderPinUse>
        {
            [1] = HeaderPinUse.Power3V3, [17] = HeaderPinUse.Power3V3,
            [2] = HeaderPinUse.Power5V, [4] = HeaderPinUse.Power5V,
        };
        var pins = new Dictionary<int, HeaderPin>();
        for (var i = 0; i < lines.Length; i++)
        {
            var number = i + 1;
            var use = lines[i] is not null ? HeaderPinUse.Gpio : power.GetValueOrDefault(number, HeaderPinUse.Ground);
            pins[number] = new HeaderPin(number, use, lines[i]);
        }

        return pins.ToFrozenDictionary();
    }
}
