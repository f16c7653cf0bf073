using System.Text.Json;
using CareGateway.Cli;

namespace CareGateway;

/// <summary>
/// A copy of the last configuration file that loaded and validated, kept in the data directory
/// (<c>last-good-config.json</c>, 0600). When the configuration file is broken at start-up, <c>run</c> starts on this
/// copy and says so loudly, so that a bad edit does not leave a home without its gateway.
/// </summary>
public static class LastGoodConfig
{
    public const string FileName = "last-good-config.json";

    public const string DefaultDataDirectory = "/var/lib/care-gateway";

    /// <summary>Stores the text of a configuration file that loaded and validated as <paramref name="config"/>.</summary>
    public static void Keep(GatewayConfig config, string configPath)
    {
        ArgumentNullException.ThrowIfNull(config);
        ConfigFile.WriteAtomically(Path.Combine(config.DataDirectory, FileName), File.ReadAllText(configPath), UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>
    /// The last good configuration for a broken file: looked for in the data directory the broken file still names
    /// (if it can be read that far), else in the package's default data directory. Null when there is none or it is not valid.
    /// </summary>
    public static (GatewayConfig Config, string Path)? Recover(string brokenPath)
    {
        var copy = Path.Combine(DataDirectoryOf(brokenPath) ?? DefaultDataDirectory, FileName);
        if (!File.Exists(copy))
        {
            return null;
        }

        try
        {
            return (ConfigLoader.Load(copy), copy);
        }
        catch (ConfigException)
        {
            return null;
        }
    }

    private static string? DataDirectoryOf(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("dataDirectory", out var d) && d.ValueKind == JsonValueKind.String && d.GetString() is { Length: > 0 } dir ? dir : null;
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
