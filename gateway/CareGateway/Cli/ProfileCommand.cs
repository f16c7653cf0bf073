using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace CareGateway.Cli;

/// <summary>
/// <c>care-gateway profile show | edit | validate</c>: the care profile in use. That is the one the centre sent, stored
/// in <c>{dataDirectory}/care-profile.json</c>, when there is one; otherwise the configuration file's careProfile section.
/// <c>edit</c> changes the one in use, and only when the edited profile is valid.
/// </summary>
public static class ProfileCommand
{
    public static Command Create()
    {
        var profile = new Command("profile", "Show, edit or validate the resident's care profile.");
        var show = new Command("show", "Show the care profile in use and where it comes from.");
        show.SetAction((parse, _) => CliOptions.InvokeAsync(parse, (c, p) => ShowAsync(p, c)));
        profile.Subcommands.Add(show);

        var file = new Argument<FileInfo?>("file") { Description = "A care profile file (the careProfile section alone, or a file holding one) to check instead of the one in use.", Arity = ArgumentArity.ZeroOrOne };
        var validate = new Command("validate", "Check a care profile; every problem is given with its path.") { file };
        validate.SetAction((parse, _) => CliOptions.InvokeAsync(parse, (c, p) => ValidateAsync(parse.GetValue(file)?.FullName, p, c)));
        profile.Subcommands.Add(validate);

        var edit = new Command("edit", "Edit the care profile in $EDITOR; it is applied only when valid, atomically.");
        edit.SetAction((parse, ct) => CliOptions.InvokeAsync(parse, (c, p) => EditAsync(p, c, EditorCommand(), ct)));
        profile.Subcommands.Add(edit);
        return profile;
    }

    /// <summary>$VISUAL, $EDITOR, else nano, else vi.</summary>
    public static string EditorCommand() =>
        Environment.GetEnvironmentVariable("VISUAL") is { Length: > 0 } visual ? visual
        : Environment.GetEnvironmentVariable("EDITOR") is { Length: > 0 } editor ? editor
        : File.Exists("/usr/bin/nano") ? "nano" : "vi";

    /// <summary>The profile in use, where it comes from, and a warning when a stored profile could not be used.</summary>
    public static (CareProfileConfig Profile, string Source, string? Warning) Current(GatewayConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var stored = Path.Combine(config.DataDirectory, FileCareProfileStore.FileName);
        string? warning = null;
        if (File.Exists(stored))
        {
            var (parsed, errors) = FileCareProfileStore.Parse(File.ReadAllBytes(stored));
            if (parsed is not null && errors.Count == 0)
            {
                return (parsed, stored, null);
            }

            warning = $"The profile the centre stored at {stored} is not valid ({string.Join("; ", errors)}); the configuration file's profile is in use.";
        }

        return (config.CareProfile, "configuration file", warning);
    }

    /// <summary>
    /// The zone a person's times are shown in: the profile in use's <c>timeZone</c> (Europe/Oslo by default), UTC when
    /// that zone is not on this machine (validation names it; a report still prints).
    /// </summary>
    public static TimeZoneInfo Zone(GatewayConfig config)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(Current(config).Profile.TimeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            return TimeZoneInfo.Utc;
        }
    }

    public static Task<int> ShowAsync(string configPath, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        var (profile, source, warning) = Current(config);
        var json = JsonSerializer.Serialize(profile, CareProfileJsonContext.Default.CareProfileConfig);
        if (context.Json)
        {
            context.WriteJson(new JsonObject { ["ok"] = true, ["source"] = source, ["warning"] = warning, ["careProfile"] = JsonNode.Parse(json) });
            return Task.FromResult(ExitCodes.Ok);
        }

        context.Console.MarkupLine($"Care profile in use, from [bold]{Markup.Escape(source)}[/]:");
        context.Console.Write(new Text(json + Environment.NewLine));
        if (warning is not null)
        {
            context.Console.MarkupLine($"[yellow]Warning:[/] {Markup.Escape(warning)}");
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    public static Task<int> ValidateAsync(string? file, string configPath, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        List<string> errors;
        string what;
        if (file is not null)
        {
            what = file;
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"Cannot read {file} ({(ex is FileNotFoundException or DirectoryNotFoundException ? "there is no such file" : ex.Message)}).", "Check the path.");
            }

            errors = FileCareProfileStore.ParseDocument(bytes).Errors;
        }
        else
        {
            var config = ConfigFile.Load(configPath); // validates the whole file, the careProfile section with it
            var rooms = SensorConfigValidation.RoomErrors(config);
            if (rooms.Count > 0)
            {
                throw new ConfigException(configPath, rooms);
            }

            var (profile, source, warning) = Current(config);
            what = source;
            errors = ConfigLoader.ValidateCareProfile(profile);
            if (warning is not null)
            {
                errors.Add(warning);
            }
        }

        if (errors.Count > 0)
        {
            throw new CliException($"The care profile from {what} is not valid.", "Fix the values named below (docs/care-profile.md describes each), e.g. with 'care-gateway profile edit'.", ExitCodes.BadInput, errors);
        }

        if (context.Json)
        {
            context.WriteJson(new JsonObject { ["ok"] = true, ["source"] = what });
        }
        else
        {
            context.Console.MarkupLine($"[green]The care profile from {Markup.Escape(what)} is valid.[/]");
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    /// <summary>
    /// Opens <paramref name="editor"/> on a temporary copy of the profile in use; a valid result replaces it atomically,
    /// an invalid one is shown with its errors (and, at a terminal, offered for another edit) while the old one stays.
    /// </summary>
    public static async Task<int> EditAsync(string configPath, CliContext context, string editor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        var (profile, source, _) = Current(config);
        var temp = Path.Combine(Path.GetTempPath(), $"care-profile-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(profile, CareProfileJsonContext.Default.CareProfileConfig), cancellationToken);
        try
        {
            while (true)
            {
                await RunEditorAsync(editor, temp, cancellationToken);
                var (edited, errors) = FileCareProfileStore.Parse(await File.ReadAllBytesAsync(temp, cancellationToken));
                if (edited is not null && errors.Count == 0)
                {
                    if (source == "configuration file")
                    {
                        config.CareProfile = edited;
                        ConfigFile.Save(configPath, config);
                    }
                    else
                    {
                        ConfigFile.WriteAtomically(source, JsonSerializer.Serialize(edited, CareProfileJsonContext.Default.CareProfileConfig), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
                    }

                    var target = source == "configuration file" ? configPath : source;
                    if (context.Json)
                    {
                        context.WriteJson(new JsonObject { ["ok"] = true, ["written"] = target });
                    }
                    else
                    {
                        context.Console.MarkupLine($"[green]Care profile saved[/] to {Markup.Escape(target)}; the running service picks it up by itself.");
                    }

                    return ExitCodes.Ok;
                }

                if (!context.Interactive)
                {
                    throw new CliException("The edited care profile is not valid; the old one is kept.", "Run 'care-gateway profile edit' again and fix the values named below.", ExitCodes.BadInput, errors);
                }

                context.Console.MarkupLine("[red]The edited care profile is not valid:[/]");
                foreach (var error in errors)
                {
                    context.Console.MarkupLine($"  - {Markup.Escape(error)}");
                }

                if (!await context.Console.ConfirmAsync("Edit it again? (no keeps the old profile)", cancellationToken: cancellationToken))
                {
                    throw new CliException("The edit was dropped; the old care profile is kept.", "Run 'care-gateway profile edit' again when ready.", ExitCodes.BadInput);
                }
            }
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static async Task RunEditorAsync(string editor, string file, CancellationToken cancellationToken)
    {
        // Through the shell, so that EDITOR may carry arguments ("code --wait").
        var info = new ProcessStartInfo("/bin/sh", ["-c", editor + " \"$1\"", "editor", file]) { UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new CliException($"Cannot start the editor '{editor}'.", "Set EDITOR to an installed editor, e.g. EDITOR=nano.");
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new CliException($"The editor '{editor}' ended with exit code {process.ExitCode}; the old care profile is kept.", "Save and quit the editor normally, or set EDITOR to another editor.");
        }
    }
}
