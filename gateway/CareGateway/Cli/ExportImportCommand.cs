using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace CareGateway.Cli;

/// <summary>
/// <c>care-gateway export</c> and <c>import</c>: moving a home to a replacement unit. The export holds the home
/// (board, sensors, Zigbee section, the care profile in use, including the one the centre stored in the data
/// directory) and NO secrets: no passwords, no key or certificate paths, no user names, no IoT Hub settings. On the new
/// unit, <c>init</c> makes new credentials first; <c>import</c> then brings the home in and keeps the new unit's
/// identity and credentials.
/// </summary>
public static class ExportImportCommand
{
    public const string Format = "care-gateway-export";

    public static IEnumerable<Command> Create()
    {
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write the export to this file (default: standard output)." };
        var export = new Command("export", "Export this home's sensors, board and care profile for a replacement unit (no secrets).") { output };
        export.SetAction((parse, _) => CliOptions.InvokeAsync(parse, (c, p) => ExportAsync(p, parse.GetValue(output)?.FullName, c)));
        yield return export;

        var file = new Argument<FileInfo>("file") { Description = "A file written by 'care-gateway export' on the old unit." };
        var import = new Command("import", "Bring a home exported from an old unit into this one (run 'init' first: identity and credentials stay this unit's).") { file };
        import.SetAction((parse, _) => CliOptions.InvokeAsync(parse, (c, p) => ImportAsync(parse.GetValue(file)!.FullName, p, c)));
        yield return import;
    }

    /// <summary>The export document: the configuration with every secret and credential reference removed.</summary>
    public static JsonObject Export(GatewayConfig config, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(config);
        var home = ConfigLoader.Parse(ConfigLoader.Serialize(config), "export"); // a deep copy
        home.CareProfile = ProfileCommand.Current(config).Profile;
        home.Broker = new BrokerConfig { Host = config.Broker.Host, Port = config.Broker.Port, HeartbeatSeconds = config.Broker.HeartbeatSeconds, ResendAfterSeconds = config.Broker.ResendAfterSeconds };
        home.IotHub = null;
        if (home.Zigbee is { } z)
        {
            z.Broker.Username = null;
            z.Broker.PasswordFile = null;
        }

        return new JsonObject
        {
            ["format"] = Format,
            ["version"] = 1,
            ["exportedAt"] = at.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["secrets"] = "none: credentials are made anew on the replacement unit with 'care-gateway init'",
            ["config"] = JsonNode.Parse(ConfigLoader.Serialize(home)),
        };
    }

    public static async Task<int> ExportAsync(string configPath, string? output, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        var document = Export(config, context.Time.GetUtcNow()).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (output is null)
        {
            await context.Out.WriteLineAsync(document);
            return ExitCodes.Ok;
        }

        ConfigFile.WriteAtomically(output, document, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        if (context.Json)
        {
            context.WriteJson(new JsonObject { ["ok"] = true, ["file"] = output, ["sensors"] = config.Sensors.Count });
        }
        else
        {
            context.Console.MarkupLine($"[green]Exported[/] {config.Sensors.Count} sensors and the care profile of gateway '{Markup.Escape(config.GatewayId)}' to {Markup.Escape(output)}.");
            context.Console.MarkupLine("The export holds no secrets (no passwords, keys or certificates). On the new unit: 'care-gateway init' (new credentials), then 'care-gateway import FILE'.");
        }

        return ExitCodes.Ok;
    }

    public static Task<int> ImportAsync(string file, string configPath, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var target = ConfigFile.Load(configPath);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(file));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new CliException($"Cannot read the export {file} ({ex.Message}).", "Give the file 'care-gateway export' wrote on the old unit.");
        }

        if (root is not JsonObject doc || doc["format"]?.GetValue<string>() != Format || doc["config"] is not JsonObject exported)
        {
            throw new CliException($"{file} is not a care-gateway export.", "Give the file 'care-gateway export' wrote on the old unit.");
        }

        if (doc["version"]?.GetValue<int>() != 1)
        {
            throw new CliException($"{file} is an export of version {doc["version"]}, which this gateway does not read.", "Export again with the same software version on both units.");
        }

        var home = ConfigLoader.Parse(exported.ToJsonString(), $"{file} ($.config)");
        target.Board = home.Board;
        target.Sensors = home.Sensors;
        target.Rooms = home.Rooms; // the home's own room labels go with its sensors
        target.CareProfile = home.CareProfile;
        if (home.Zigbee is { } z)
        {
            // The local broker's credentials are this unit's own.
            z.Broker.Username = target.Zigbee?.Broker.Username;
            z.Broker.PasswordFile = target.Zigbee?.Broker.PasswordFile;
            target.Zigbee = z;
        }

        ConfigFile.Save(configPath, target);

        // A profile the centre stored on this unit would outrank the imported one: the imported one is the home's.
        var stored = Path.Combine(target.DataDirectory, FileCareProfileStore.FileName);
        if (File.Exists(stored))
        {
            ConfigFile.WriteAtomically(stored, JsonSerializer.Serialize(home.CareProfile, CareProfileJsonContext.Default.CareProfileConfig), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        }

        if (context.Json)
        {
            context.WriteJson(new JsonObject { ["ok"] = true, ["gatewayId"] = target.GatewayId, ["sensors"] = target.Sensors.Count });
        }
        else
        {
            context.Console.MarkupLine($"[green]Imported[/] {target.Sensors.Count} sensors, the board and the care profile into gateway '{Markup.Escape(target.GatewayId)}' (its identity and credentials are kept).");
            context.Console.MarkupLine("[yellow]Next:[/] re-pair nothing for wired sensors; move the Zigbee stick from the old unit (its network and pairings live in zigbee2mqtt's data), then 'care-gateway sensors test' and 'care-gateway selftest'.");
        }

        return Task.FromResult(ExitCodes.Ok);
    }
}
