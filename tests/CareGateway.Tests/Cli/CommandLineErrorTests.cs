using CareGateway.Cli;

namespace CareGateway.Tests.Cli;

/// <summary>Bad input on the command line: exit 2, a person's message (no .NET type names), "did you mean" for near misses.</summary>
public class CommandLineErrorTests
{
    public static TheoryData<string[], string> BadInput() => new()
    {
        { ["frobnicate"], "has no command 'frobnicate'" },
        { ["statsu"], "Did you mean 'status'?" },
        { ["status", "--bogus"], "'care-gateway status' has no option '--bogus'" },
        { ["status", "--jsno"], "Did you mean '--json'?" },
        { ["sensors", "ad"], "Did you mean 'add'?" },
        { ["sensors", "add", "x", "--kind", "door", "--room", "hall", "--pin", "abc"], "'abc' is not a valid value for --pin: use a whole number" },
        { ["sensors", "add", "x", "--pin", "abc"], "'abc' is not a valid value for --pin" },
        { ["sensors", "add", "x", "--kind", "door", "--room", "hall", "--pul", "up"], "Did you mean '--pull'" },
        { ["sensors", "add", "x", "--kind", "door", "--room", "hall", "--pin", "11", "--pull", "sideways"], "use one of none, up, down" },
        { ["sensors"], "'care-gateway sensors' needs one of its commands: " },
        { ["profile"], "needs one of its commands" },
        { ["init", "--credentials", "bogus"], "use one of generate, import, password" },
        { ["selftest", "--ack-timeout", "soon"], "use a whole number" },
        { ["replay", "--profile", "p.json", "--events", "e.log", "--until", "tomorrow"], "ISO 8601" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public async Task Bad_input_exits_2_with_a_message_a_person_reads(string[] args, string expected)
    {
        using var writer = new StringWriter();

        var code = await GatewayCommandLine.InvokeAsync(args, CliContext.ForWriter(writer));

        var output = writer.ToString();
        Assert.True(code == ExitCodes.BadInput, $"exit {code}: {output}");
        Assert.True(output.Contains(expected, StringComparison.Ordinal), output);
        Assert.Contains("--help", output, StringComparison.Ordinal);
        foreach (var internals in new[] { "System.", "CareGateway.", "Nullable`1", "Required command was not provided" })
        {
            Assert.DoesNotContain(internals, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task With_json_a_bad_option_is_one_json_document_with_exit_code_2()
    {
        using var writer = new StringWriter();

        var code = await GatewayCommandLine.InvokeAsync(["status", "--bogus", "--json"], CliContext.ForWriter(writer, json: true));

        Assert.Equal(ExitCodes.BadInput, code);
        var json = CliTestKit.ParseJson(writer.ToString());
        Assert.False(json.GetProperty("ok").GetBoolean());
        Assert.Contains("--bogus", json.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Did_you_mean_names_only_close_candidates()
    {
        Assert.Equal(" Did you mean 'status'?", GatewayCommandLine.DidYouMean("stauts", ["status", "selftest", "sensors"]));
        Assert.Equal(string.Empty, GatewayCommandLine.DidYouMean("frobnicate", ["status", "selftest", "sensors"]));
    }
}
