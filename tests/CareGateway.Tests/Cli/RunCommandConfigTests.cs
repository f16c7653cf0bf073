namespace CareGateway.Tests.Cli;

/// <summary><c>care-gateway run</c> reports a configuration it cannot use as every other command does: what, where, exit 2.</summary>
public class RunCommandConfigTests
{
    [Fact]
    public async Task A_missing_configuration_names_the_file_and_says_to_run_init()
    {
        using var dir = new TempDir();
        var missing = dir.File("etc/none.json");
        using var error = new StringWriter();

        var code = await RunCommand.RunAsync(new FileInfo(missing), error, CancellationToken.None);

        var said = error.ToString();
        Assert.Equal(2, code);
        Assert.Contains($"There is no configuration at {missing}.", said, StringComparison.Ordinal);
        Assert.Contains("care-gateway init", said, StringComparison.Ordinal);
        Assert.DoesNotContain("Could not find", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_configuration_lists_each_problem_with_its_path_then_what_to_do()
    {
        using var dir = new TempDir();
        var path = CliTestKit.WriteConfig(dir, brokerPort: 70000);
        using var error = new StringWriter();

        var code = await RunCommand.RunAsync(new FileInfo(path), error, CancellationToken.None);

        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, code);
        Assert.StartsWith($"Error: The configuration {path} is not valid.", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains("$.broker.port: 70000 is not a TCP port", StringComparison.Ordinal));
        Assert.StartsWith("What to do:", lines[^1], StringComparison.Ordinal);
    }
}
