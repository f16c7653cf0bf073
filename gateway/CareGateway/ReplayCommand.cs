namespace CareGateway;

/// <summary><c>care-gateway replay --profile PROFILE --events EVENTS</c>: what a profile would have raised on a recording.</summary>
internal static class ReplayCommand
{
    public static async Task<int> RunAsync(FileInfo profileFile, FileInfo eventsFile, DateTimeOffset? until, TextWriter output, TextWriter error, FileInfo? sensorsFrom = null, bool json = false)
    {
        try
        {
            var (profile, sensors) = Replay.LoadProfile(profileFile.FullName, sensorsFrom?.FullName);
            List<ReplayInput> inputs;
            using (var reader = eventsFile.OpenText())
            {
                inputs = Replay.ReadEvents(reader, eventsFile.Name, sensors);
            }

            var alarms = Replay.Run(profile, sensors, inputs, until);
            if (json)
            {
                ReplayJson.Write(output, profile, inputs, alarms);
            }
            else
            {
                Replay.Print(output, profile, inputs, alarms);
            }

            return 0;
        }
        catch (Exception ex) when (ex is ConfigException or ReplayFormatException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            await error.WriteLineAsync(ex.Message);
            return 2;
        }
    }
}
