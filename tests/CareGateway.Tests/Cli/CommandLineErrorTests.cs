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

    /// <summary>Input the parser takes but the command refuses: exit 2, the reason, nothing written. <c>{dir}</c> is a temporary folder with <c>pw</c> (a password) and <c>gateway.json</c> (a valid configuration on the simulated board).</summary>
    public static TheoryData<string[], string> BadCommandInput() => new()
    {
        { ["init", "--config", "{dir}/new.json", "--gateway-id", "gw-1", "--broker-host", "centre.example", "--broker-port", "1883", "--data-dir", "{dir}/data", "--credentials", "password", "--username", "gw-1", "--password-file", "{dir}/pw"], "Not sending a password without TLS: the password for the broker at centre.example:1883 would cross the network in clear" },
        { ["init", "--config", "{dir}/new.json", "--gateway-id", "gw-1", "--broker-host", "10.0.0.7", "--data-dir", "{dir}/data", "--credentials", "password", "--username", "gw-1", "--password-file", "{dir}/pw"], "--insecure" },
        { ["init", "--config", "{dir}/new.json", "--gateway-id", "gw-1", "--broker-host", "127.0.0.1", "--data-dir", "{dir}/data", "--credentials", "password", "--username", "gw-1", "--password-file", "{dir}/missing"], "there is no such file" },
        { ["simulate", "press", "panic-bd", "--config", "{dir}/gateway.json"], "Did you mean 'panic-bed'?" },
        { ["sensors", "add", "x", "--kind", "panic", "--room", "kari", "--pin", "15", "--config", "{dir}/gateway.json"], "$.sensors[1].room: sensor 'x' has the room 'kari', which is not one of this home's rooms: room labels go to the centre with every alarm, so they name places, never people" },
        { ["sensors", "add", "x", "--kind", "panic", "--room", "Kari", "--pin", "15", "--config", "{dir}/gateway.json"], "has the room 'Kari', capitalised like a person's name" },
    };

    [Theory]
    [MemberData(nameof(BadCommandInput))]
    public async Task Bad_input_to_a_command_exits_2_with_the_reason_and_writes_nothing(string[] args, string expected)
    {
        using var dir = new TempDir();
        await File.WriteAllTextAsync(dir.File("pw"), "bench-only-password\n");
        CliTestKit.WriteConfig(dir, """[{ "id": "panic-bed", "kind": "panic", "room": "bedroom", "gpio": { "headerPin": 13, "pull": "up", "wiring": "normally-open" } }]""");
        var before = await File.ReadAllTextAsync(dir.File("gateway.json"));
        using var writer = new StringWriter();

        var code = await GatewayCommandLine.InvokeAsync([.. args.Select(a => a.Replace("{dir}", dir.Path, StringComparison.Ordinal))], CliContext.ForWriter(writer));

        var output = writer.ToString();
        Assert.True(code == ExitCodes.BadInput, $"exit {code}: {output}");
        Assert.True(output.Contains(expected, StringComparison.Ordinal), output);
        Assert.False(File.Exists(dir.File("new.json")), output);
        Assert.False(Directory.Exists(dir.File("secrets")), output);
        Assert.Equal(before, await File.ReadAllTextAsync(dir.File("gateway.json")));
        foreach (var internals in new[] { "System.", "CareGateway.", "Exception" })
        {
            Assert.DoesNotContain(internals, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Init_with_a_password_in_clear_goes_on_with_insecure_and_warns_on_standard_error_and_loopback_needs_neither()
    {
        using var dir = new TempDir();
        await File.WriteAllTextAsync(dir.File("pw"), "bench-only-password\n");
        string[] Init(string config, string host, params string[] more) =>
            ["init", "--config", dir.File(config), "--gateway-id", "gw-1", "--broker-host", host, "--broker-port", "1883", "--data-dir", dir.File("data"), "--credentials", "password", "--username", "gw-1", "--password-file", dir.File("pw"), "--json", .. more];
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var quiet = new StringWriter();

        var insecure = await GatewayCommandLine.InvokeAsync(Init("a/gateway.json", "centre.example", "--insecure"), CliContext.ForWriter(stdout, json: true, error: stderr));
        var local = await GatewayCommandLine.InvokeAsync(Init("b/gateway.json", "localhost"), CliContext.ForWriter(quiet, json: true, error: quiet));
        var ipv6 = await GatewayCommandLine.InvokeAsync(Init("c/gateway.json", "::1"), CliContext.ForWriter(quiet, json: true, error: quiet));

        Assert.True(insecure == ExitCodes.Ok, stdout.ToString() + stderr);
        Assert.True(CliTestKit.ParseJson(stdout.ToString()).GetProperty("ok").GetBoolean()); // the warning is not in the JSON document
        Assert.Contains("Warning (--insecure): the password for the broker at centre.example:1883 would cross the network in clear", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal("centre.example", ConfigLoader.Load(dir.File("a/gateway.json")).Broker.Host);
        Assert.True(local == ExitCodes.Ok && ipv6 == ExitCodes.Ok, quiet.ToString());
        Assert.DoesNotContain("Warning", quiet.ToString(), StringComparison.Ordinal);
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
