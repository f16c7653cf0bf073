namespace CareGateway.Cli;

/// <summary>Reads the configuration for a command, and writes a changed one only when it is valid, atomically.</summary>
public static class ConfigFile
{
    /// <summary>Loads and validates the configuration; a missing file says to run <c>init</c>.</summary>
    public static GatewayConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"There is no configuration at {path}.", "Run 'care-gateway init' first, or name the file with --config.");
        }

        return ConfigLoader.Load(path);
    }

    /// <summary>
    /// Validates <paramref name="config"/> and, only when it is valid, writes it to a temporary file beside
    /// <paramref name="path"/>, flushes it to disk and renames it over the old file: a crash leaves the old or the new file, never half of one.
    /// </summary>
    public static void Save(string path, GatewayConfig config)
    {
        var json = ConfigLoader.Serialize(config);
        var rooms = SensorConfigValidation.RoomErrors(config);
        if (rooms.Count > 0)
        {
            throw new ConfigException(path, rooms); // nothing new goes over the wire with a room that may be a name
        }

        ConfigLoader.Parse(json, path); // the text as written must load: validated, every problem with its path
        WriteAtomically(path, json, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
    }

    /// <summary>Writes text atomically with the given permissions (set before any content is written).</summary>
    public static void WriteAtomically(string path, string text, UnixFileMode mode)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = $"{full}.{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        try
        {
            using (var file = new FileStream(temp, options))
            using (var writer = new StreamWriter(file))
            {
                writer.Write(text);
                writer.Flush();
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
