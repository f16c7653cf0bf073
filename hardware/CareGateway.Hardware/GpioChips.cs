using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Globalization;

namespace CareGateway.Hardware;

/// <summary>
/// Builds the libgpiod driver for a board explicitly, rather than relying on System.Device.Gpio's automatic selection
/// (which on a Pi 5 tries only libgpiod v1 and does not know every board revision). The chip comes from the profile.
/// </summary>
public static class GpioChips
{
    /// <summary>The driver for the header of <paramref name="model"/>; <paramref name="configuredChip"/> overrides the profile.</summary>
    public static GpioDriver CreateDriver(BoardModel model, int? configuredChip)
    {
        if (model == BoardModel.Simulated)
        {
            return new SimulatedBoard();
        }

        var profile = BoardProfile.For(model);
        var chip = profile.ChooseChip(configuredChip, profile.ChipLineCount is null || configuredChip is not null ? [] : Probe());
        return new LibGpiodDriver(chip);
    }

    /// <summary>The gpiochips of this machine with their line counts (chips that libgpiod cannot open are skipped).</summary>
    public static IEnumerable<(int Chip, int Lines)> Probe()
    {
        var found = new List<(int, int)>();
        if (!Directory.Exists("/dev"))
        {
            return found;
        }

        foreach (var path in Directory.EnumerateFiles("/dev", "gpiochip*"))
        {
            if (!int.TryParse(Path.GetFileName(path).AsSpan("gpiochip".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var chip))
            {
                continue;
            }

            try
            {
                using var controller = new GpioController(new LibGpiodDriver(chip));
                found.Add((chip, controller.PinCount));
            }
#pragma warning disable CA1031 // a chip libgpiod cannot open is simply not a candidate; any failure type means the same
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        return found;
    }
}
