using CareGateway.Core;

namespace CareGateway;

/// <summary><c>care-gateway replay --profile PROFILE --events EVENTS</c>: what a profile would have raised on a recording.</summary>
internal static class ReplayCommand
{
    /// <summary>
    /// Replays <paramref name="eventsFile"/> with the profile: alarms, near misses and counts per night as text or
    /// (<paramref name="json"/>) one JSON document; with <paramref name="compareFile"/> also the alarms only one of the two
    /// profiles raises; with <paramref name="svgFile"/> also an SVG timeline written there. Bad input: a message, exit 2.
    /// </summary>
    public static async Task<int> RunAsync(
        FileInfo profileFile,
        FileInfo eventsFile,
        DateTimeOffset? until,
        TextWriter output,
        TextWriter error,
        FileInfo? sensorsFrom = null,
        bool json = false,
        FileInfo? compareFile = null,
        FileInfo? svgFile = null)
    {
        try
        {
            Exists(profileFile, "--profile");
            Exists(eventsFile, "--events");
            if (compareFile is not null)
            {
                Exists(compareFile, "--compare");
            }

            if (svgFile is not null && svgFile.Directory is { Exists: false } dir)
            {
                throw new ReplayFormatException($"--svg: the folder {dir.FullName} does not exist");
            }

            var (profile, sensors) = Replay.LoadProfile(profileFile.FullName, sensorsFrom?.FullName);
            var inputs = Read(eventsFile, sensors);
            var outcome = Replay.Evaluate(profile, sensors, inputs, until);

            (string Other, ReplayComparison Comparison)? compare = null;
            if (compareFile is not null)
            {
                // The other profile may name other sensors: the recording is read again with its own.
                var (otherProfile, otherSensors) = Replay.LoadProfile(compareFile.FullName, sensorsFrom?.FullName);
                var other = Replay.Evaluate(otherProfile, otherSensors, Read(eventsFile, otherSensors), until);
                compare = (compareFile.Name, ReplayComparison.Of(outcome.Alarms, other.Alarms));
            }

            if (svgFile is not null)
            {
                ReplaySvg.Write(svgFile.FullName, profile, sensors, inputs, outcome);
            }

            if (json)
            {
                ReplayJson.Write(output, profile, inputs, outcome.Alarms, outcome.NearMisses, compare);
            }
            else
            {
                Replay.Print(output, profile, inputs, outcome.Alarms, outcome.NearMisses);
                if (compare is { } c)
                {
                    output.WriteLine();
                    c.Comparison.Print(output, profile.ResolveTimeZone(), profileFile.Name, c.Other);
                }

                if (svgFile is not null)
                {
                    output.WriteLine();
                    output.WriteLine($"Timeline written to {svgFile.FullName}.");
                }
            }

            return 0;
        }
        catch (Exception ex) when (ex is ConfigException or ReplayFormatException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            await error.WriteLineAsync(ex.Message);
            return 2;
        }
    }

    private static void Exists(FileInfo file, string option)
    {
        if (!file.Exists)
        {
            throw new ReplayFormatException($"{option}: the file {file.FullName} does not exist");
        }
    }

    private static List<ReplayInput> Read(FileInfo eventsFile, IReadOnlyList<Sensors.SensorDefinition> sensors)
    {
        using var reader = eventsFile.OpenText();
        return Replay.ReadEvents(reader, eventsFile.Name, sensors);
    }
}
