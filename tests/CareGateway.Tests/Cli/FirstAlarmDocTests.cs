using System.Text.RegularExpressions;
using CareGateway.Cli;

namespace CareGateway.Tests.Cli;

/// <summary>
/// docs/first-alarm.md's gateway commands are real: <c>init</c> and <c>sensors add</c> run as written (with the home
/// folder in a temporary one) and succeed; <c>run</c>, <c>simulate</c> and <c>status</c> parse. SimulateTests runs
/// <c>run</c> and <c>simulate press</c> as processes on Mosquitto.
/// </summary>
public partial class FirstAlarmDocTests
{
    [Fact]
    public async Task The_first_alarm_docs_gateway_commands_run_as_written()
    {
        using var home = new TempDir();
        var commands = GatewayCommands(RepoFiles.Read("docs", "first-alarm.md")).Select(c => c.Replace("~/", home.Path + "/", StringComparison.Ordinal)).ToList();
        Directory.CreateDirectory(home.File("first-alarm"));
        await File.WriteAllTextAsync(home.File("first-alarm/mqtt-password"), "bench-only-password\n");

        Assert.Contains(commands, c => c.StartsWith("care-gateway init ", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.StartsWith("care-gateway sensors add ", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.StartsWith("care-gateway run ", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.StartsWith("care-gateway simulate press ", StringComparison.Ordinal));
        foreach (var command in commands)
        {
            var args = command.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
            if (args[0] is "init" or "sensors")
            {
                using var writer = new StringWriter();
                var code = await GatewayCommandLine.InvokeAsync(args, CliContext.ForWriter(writer));
                Assert.True(code == ExitCodes.Ok, $"{command}: exit {code} {writer}");
            }
            else
            {
                var parse = GatewayCommandLine.Create().Parse(args);
                Assert.True(parse.Errors.Count == 0, $"{command}: {string.Join("; ", GatewayCommandLine.Describe(parse))}");
            }
        }

        var config = ConfigLoader.Load(home.File("first-alarm/gateway.json"));
        Assert.Equal(BoardDriver.Simulated, config.Board.Driver);
        Assert.Equal("panic-bed", Assert.Single(config.Sensors).Id);
    }

    /// <summary>Every <c>care-gateway ...</c> line of the document's sh blocks, continuation lines joined, and inline ones that name their --config.</summary>
    private static List<string> GatewayCommands(string markdown)
    {
        var commands = new List<string>();
        foreach (Match block in ShBlock().Matches(markdown))
        {
            var text = block.Groups[1].Value.Replace("\\\n", " ", StringComparison.Ordinal);
            commands.AddRange(text.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("care-gateway ", StringComparison.Ordinal)));
        }

        commands.AddRange(InlineCommand().Matches(markdown).Select(m => m.Groups[1].Value).Where(c => c.Contains("--config", StringComparison.Ordinal)));
        return commands;
    }

    [GeneratedRegex(@"```sh\n(.*?)```", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex ShBlock();

    [GeneratedRegex(@"`(care-gateway (?:status|simulate)[^`]*)`", RegexOptions.CultureInvariant)]
    private static partial Regex InlineCommand();
}
