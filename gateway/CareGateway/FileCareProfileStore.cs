using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CareGateway.Core;
using CareGateway.Core.Commands;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// The care profile in use, kept in <c>{dataDirectory}/care-profile.json</c> once the centre has replaced it (it then
/// outranks the careProfile section of the configuration file, also after a restart). A replacement is validated with
/// the configuration's own rules, written to a temporary file, flushed to disk and renamed over the old file (atomic on
/// POSIX file systems), and only then applied; on any problem the profile in use stays.
/// </summary>
public sealed class FileCareProfileStore : ICareProfileStore
{
    public const string FileName = "care-profile.json";

    private readonly Lock _gate = new();
    private readonly ILogger _log;

    public FileCareProfileStore(string dataDirectory, CareProfileConfig fromConfiguration, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(fromConfiguration);
        _log = log;
        FilePath = Path.Combine(dataDirectory, FileName);
        CurrentConfig = fromConfiguration;
        Source = "configuration file";
        if (File.Exists(FilePath))
        {
            var (stored, errors) = Parse(File.ReadAllBytes(FilePath));
            if (stored is not null && errors.Count == 0)
            {
                CurrentConfig = stored;
                Source = FilePath;
            }
            else
            {
                // Not silently: the centre believes its profile is in use.
                _log.LogError("The care profile stored at {Path} is not valid ({Errors}); using the configuration file's care profile instead", FilePath, string.Join("; ", errors));
            }
        }

        Current = ConfigLoader.ToProfile(CurrentConfig);
    }

    /// <summary>Raised after a replacement was stored, with the new profile; the runtime applies it to the rules.</summary>
    public event Action<CareProfile>? Replaced;

    public string FilePath { get; }

    /// <summary>Where the profile in use came from: the configuration file, or the file the centre's last profile was stored in.</summary>
    public string Source { get; private set; }

    public CareProfileConfig CurrentConfig { get; private set; }

    public CareProfile Current { get; private set; }

    public IReadOnlyList<string> TryReplace(JsonElement careProfileSection)
    {
        var (config, errors) = Parse(Encoding.UTF8.GetBytes(careProfileSection.GetRawText()));
        if (config is null || errors.Count > 0)
        {
            return errors;
        }

        CareProfile profile;
        lock (_gate)
        {
            profile = ConfigLoader.ToProfile(config);
            WriteAtomically(JsonSerializer.SerializeToUtf8Bytes(config, CareProfileJsonContext.Default.CareProfileConfig));
            CurrentConfig = config;
            Current = profile;
            Source = FilePath;
        }

        _log.LogInformation("Care profile replaced by the centre and stored at {Path}", FilePath);
        Replaced?.Invoke(profile);
        return [];
    }

    /// <summary>
    /// One care-profile shape everywhere: a profile file is the configuration's <c>careProfile</c> section alone. A
    /// document that wraps it (a gateway configuration, or a replay file <c>{"careProfile": ..., "sensors": [...]}</c>)
    /// is read for its <c>careProfile</c> section, with the same meaning; its other keys are not looked at here.
    /// </summary>
    public static (CareProfileConfig? Config, List<string> Errors) ParseDocument(byte[] json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return SectionOf(json) is { } section ? Parse(Encoding.UTF8.GetBytes(section)) : Parse(json);
    }

    /// <summary>The raw text of a wrapping document's <c>careProfile</c> section; null when the document is a profile itself (or not JSON).</summary>
    public static string? SectionOf(byte[] json)
    {
        try
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return node is System.Text.Json.Nodes.JsonObject o && o.TryGetPropertyValue("careProfile", out var section) && section is not null ? section.ToJsonString() : null;
        }
        catch (JsonException)
        {
            return null; // Parse names the syntax error with its line
        }
    }

    /// <summary>
    /// Parses and validates a careProfile section, with the configuration file's rules (comments and trailing commas
    /// allowed, unknown keys named with "did you mean"): every problem with its path from <c>$.careProfile</c> and,
    /// where the text has it, its line.
    /// </summary>
    public static (CareProfileConfig? Config, List<string> Errors) Parse(byte[] json)
    {
        ArgumentNullException.ThrowIfNull(json);
        const string Root = "$.careProfile";
        var text = Encoding.UTF8.GetString(json);
        var (unknown, known) = ConfigKeys.Check(text, ConfigJsonContext.Default.GetTypeInfo(typeof(CareProfileConfig))!, Root, "docs/care-profile.md");
        CareProfileConfig? config;
        try
        {
            var bytes = known is null || ReferenceEquals(known, text) ? json : Encoding.UTF8.GetBytes(known);
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            config = JsonSerializer.Deserialize(ref reader, CareProfileJsonContext.Default.CareProfileConfig);
        }
        catch (JsonException ex)
        {
            var path = ex.Path is { Length: > 1 } p && p.StartsWith('$') ? Root + p[1..] : Root;
            return (null, [.. unknown, $"{path}{ConfigLoader.LineOf(ex, text, path, Root, rewritten: unknown.Count > 0)}: {ConfigLoader.Describe(ex)}"]);
        }

        if (config is null)
        {
            return (null, [.. unknown, "$.careProfile: must be an object, not null"]);
        }

        var errors = ConfigLoader.ValidateCareProfile(config);
        errors.InsertRange(0, unknown);
        return (config, errors);
    }

    private void WriteAtomically(byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        var temp = FilePath + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, FilePath, overwrite: true);
    }
}

/// <summary>The careProfile section alone, with the configuration file's strictness (unknown fields are errors).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CareProfileConfig))]
internal sealed partial class CareProfileJsonContext : JsonSerializerContext;
