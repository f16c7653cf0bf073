using CareGateway.Cli;

namespace CareGateway.Tests.Cli;

/// <summary>A care profile that does not parse says where: the JSON path and the line, in a profile file and in the configuration's careProfile section.</summary>
public class ProfileSyntaxErrorTests
{
    private static async Task<IReadOnlyList<string>> ValidateFile(TempDir dir, string text)
    {
        var file = dir.File("profile.json");
        await File.WriteAllTextAsync(file, text);
        var (code, output) = await CliTestKit.RunAsync(CliTestKit.WriteConfig(dir), (c, p) => ProfileCommand.ValidateAsync(file, p, c), json: true);
        Assert.True(code == ExitCodes.BadInput, output);
        return [.. CliTestKit.ParseJson(output).GetProperty("details").EnumerateArray().Select(d => d.GetString()!)];
    }

    [Fact]
    public async Task A_missing_comma_in_a_profile_file_names_its_line()
    {
        using var dir = new TempDir();

        var errors = await ValidateFile(dir, "{\n  \"bedExit\": {\n    \"enabled\": true\n    \"maxMinutes\": 5\n  }\n}\n");

        Assert.StartsWith("$.careProfile", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Contains("(line 4)", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_value_and_a_misspelt_key_are_both_named_with_path_line_and_what_to_write_without_type_names()
    {
        using var dir = new TempDir();

        var errors = await ValidateFile(dir, "{\n  \"bedExit\": {\n    \"enabeld\": true,\n    \"enabled\": \"yes\"\n  }\n}\n");

        Assert.Equal(2, errors.Count);
        Assert.StartsWith("$.careProfile.bedExit.enabeld (line 3): 'enabeld' is not a setting of '$.careProfile.bedExit'. Did you mean 'enabled'?", errors[0], StringComparison.Ordinal);
        Assert.Contains("docs/care-profile.md", errors[0], StringComparison.Ordinal);
        Assert.Equal("$.careProfile.bedExit.enabled (line 4): the value must be true or false (without quotes)", errors[1]);
        Assert.All(errors, e => Assert.DoesNotContain("System.", e, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("CareGateway.", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_profile_file_may_have_comments_and_trailing_commas_like_the_configuration()
    {
        using var dir = new TempDir();
        var file = dir.File("profile.json");
        await File.WriteAllTextAsync(file, "// the resident's rules\n{\n  \"bedExit\": { \"enabled\": true, },\n}\n");

        var (code, output) = await CliTestKit.RunAsync(CliTestKit.WriteConfig(dir), (c, p) => ProfileCommand.ValidateAsync(file, p, c));

        Assert.True(code == ExitCodes.Ok, output);
    }

    [Fact]
    public async Task A_wrong_value_in_the_configurations_care_profile_names_its_path_and_line_even_beside_a_misspelt_key()
    {
        using var dir = new TempDir();
        var configPath = dir.File("gateway.json");
        await File.WriteAllTextAsync(configPath, "{\n  \"gatewayId\": \"gw-1\",\n  \"board\": { \"driver\": \"simulated\" },\n  \"careProfile\": {\n    \"bedExt\": {},\n    \"nightWindow\": { \"start\": 22 }\n  }\n}\n");

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(configPath));

        Assert.Contains(ex.Errors, e => e.StartsWith("$.careProfile.bedExt (line 5): 'bedExt' is not a setting of '$.careProfile'. Did you mean 'bedExit'?", StringComparison.Ordinal));
        Assert.Contains("$.careProfile.nightWindow.start (line 6): the value must be text in double quotes", ex.Errors);
    }
}
