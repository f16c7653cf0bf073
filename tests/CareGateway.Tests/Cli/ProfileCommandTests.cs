using CareGateway.Cli;

namespace CareGateway.Tests.Cli;

public class ProfileCommandTests
{
    /// <summary>An "editor": a shell script that rewrites the file it is given with sed.</summary>
    private static string Editor(TempDir dir, string sedExpression)
    {
        var script = dir.File("editor.sh");
        File.WriteAllText(script, $"#!/bin/sh\nsed -i '{sedExpression}' \"$1\"\n");
        return "/bin/sh " + script;
    }

    [Fact]
    public async Task Show_gives_the_configuration_files_profile_or_the_one_the_centre_stored()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, extra: """, "careProfile": { "timeZone": "Europe/Oslo", "nightWindow": { "start": "23:00", "end": "07:00" } }""");

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => ProfileCommand.ShowAsync(p, c), json: true);

        Assert.Equal(ExitCodes.Ok, code);
        var shown = CliTestKit.ParseJson(output);
        Assert.Equal("configuration file", shown.GetProperty("source").GetString());
        Assert.Equal("23:00", shown.GetProperty("careProfile").GetProperty("nightWindow").GetProperty("start").GetString());

        Directory.CreateDirectory(dir.File("data"));
        await File.WriteAllTextAsync(Path.Combine(dir.File("data"), FileCareProfileStore.FileName), """{ "timeZone": "Europe/Oslo", "nightWindow": { "start": "21:30", "end": "06:30" } }""");
        var (_, stored) = await CliTestKit.RunAsync(configPath, (c, p) => ProfileCommand.ShowAsync(p, c), json: true);

        Assert.Equal("21:30", CliTestKit.ParseJson(stored).GetProperty("careProfile").GetProperty("nightWindow").GetProperty("start").GetString());
    }

    [Fact]
    public async Task Validate_names_each_bad_value_by_its_path()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir);
        var bad = dir.File("profile.json");
        await File.WriteAllTextAsync(bad, """{ "timeZone": "Mars/Olympus" }""");

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => ProfileCommand.ValidateAsync(bad, p, c), json: true);
        var (ok, _) = await CliTestKit.RunAsync(configPath, (c, p) => ProfileCommand.ValidateAsync(null, p, c));

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.StartsWith("$.careProfile.timeZone", Assert.Single(CliTestKit.ParseJson(output).GetProperty("details").EnumerateArray()).GetString(), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Ok, ok);
    }

    [Fact]
    public async Task A_valid_edit_is_applied_to_the_configuration_and_an_invalid_one_keeps_the_old_profile()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, extra: """, "careProfile": { "timeZone": "Europe/Oslo", "nightWindow": { "start": "23:00", "end": "07:00" } }""");

        var (code, _) = await CliTestKit.RunAsync(configPath, (c, p) => ProfileCommand.EditAsync(p, c, Editor(dir, "s/23:00/22:30/"), CancellationToken.None));

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("22:30", ConfigLoader.Load(configPath).CareProfile.NightWindow.Start);
        var before = await File.ReadAllTextAsync(configPath);

        var (refused, output) = await CliTestKit.RunAsync(configPath, (c, p) => ProfileCommand.EditAsync(p, c, Editor(dir, "s/22:30/25:00/"), CancellationToken.None));

        Assert.Equal(ExitCodes.BadInput, refused);
        Assert.Contains("$.careProfile.nightWindow", output, StringComparison.Ordinal);
        Assert.Contains("old one is kept", output, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(configPath));
    }

    [Fact]
    public async Task An_edit_changes_the_centres_stored_profile_when_that_one_is_in_use()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir);
        var stored = Path.Combine(dir.File("data"), FileCareProfileStore.FileName);
        Directory.CreateDirectory(dir.File("data"));
        await File.WriteAllTextAsync(stored, """{ "timeZone": "Europe/Oslo", "nightWindow": { "start": "21:30", "end": "06:30" } }""");

        var (code, _) = await CliTestKit.RunAsync(configPath, (c, p) => ProfileCommand.EditAsync(p, c, Editor(dir, "s/21:30/22:00/"), CancellationToken.None));

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("22:00", FileCareProfileStore.Parse(await File.ReadAllBytesAsync(stored)).Config!.NightWindow.Start);
    }
}
