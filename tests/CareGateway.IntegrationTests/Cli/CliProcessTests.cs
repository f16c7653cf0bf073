using System.Diagnostics;
using CareGateway.Tests;
using CareGateway.Tests.Cli;

namespace CareGateway.IntegrationTests.Cli;

/// <summary>The technician's commands as a real process: registered, parsed, --json on stdout, documented exit codes.</summary>
public class CliProcessTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "care-gateway.dll");
        var info = new ProcessStartInfo("dotnet", [dll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("care-gateway did not start");
        process.StandardInput.Close(); // no terminal: commands must not prompt
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Bound);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Init_then_sensors_add_and_list_work_from_the_command_line_with_json_and_exit_codes()
    {
        using var dir = new TempDir();
        var config = dir.File("etc/gateway.json");
        await File.WriteAllTextAsync(dir.File("pw"), "process-Secret-1");

        var init = await RunAsync("init", "--config", config, "--gateway-id", "gw-cli", "--broker-host", "127.0.0.1", "--board", "simulated",
            "--data-dir", dir.File("data"), "--credentials", "password", "--username", "gw-cli", "--password-file", dir.File("pw"), "--json");
        var missing = await RunAsync("init", "--config", dir.File("other.json"), "--broker-host", "x", "--json");
        var add = await RunAsync("sensors", "add", "door-front", "--kind", "door", "--room", "hallway", "--pin", "11", "--config", config);
        var refused = await RunAsync("sensors", "add", "panic-1", "--kind", "panic", "--room", "bedroom", "--pin", "1", "--config", config);
        var list = await RunAsync("sensors", "list", "--config", config, "--json");

        Assert.True(init.Code == 0, init.Stdout + init.Stderr);
        Assert.True(CliTestKit.ParseJson(init.Stdout).GetProperty("ok").GetBoolean());
        Assert.DoesNotContain("process-Secret", init.Stdout + init.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, missing.Code);
        Assert.Contains("--gateway-id", CliTestKit.ParseJson(missing.Stdout).GetProperty("hint").GetString(), StringComparison.Ordinal);
        Assert.True(add.Code == 0, add.Stdout + add.Stderr);
        Assert.Equal(2, refused.Code);
        Assert.Contains("3.3 V power", refused.Stdout, StringComparison.Ordinal);
        var sensor = Assert.Single(CliTestKit.ParseJson(list.Stdout).GetProperty("sensors").EnumerateArray());
        Assert.Equal("door-front", sensor.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Help_lists_every_technician_command()
    {
        var (code, stdout, _) = await RunAsync("--help");

        Assert.Equal(0, code);
        foreach (var command in new[] { "init", "sensors", "profile", "status", "selftest", "export", "import", "run", "replay", "simulate" })
        {
            Assert.Contains("  " + command, stdout, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("  demo", stdout, StringComparison.Ordinal); // the demo is samples/CareGateway.Demo, beside the product
    }

    [Fact]
    public async Task Bad_input_as_a_real_process_exits_2_without_type_names()
    {
        using var dir = new TempDir();
        string[][] inputs =
        [
            ["frobnicate"],
            ["status", "--bogus"],
            ["sensors", "add", "x", "--pin", "abc"],
            ["sensors"],
            ["run", "--config", dir.File("missing/gateway.json")],
        ];

        foreach (var args in inputs)
        {
            var (code, stdout, stderr) = await RunAsync(args);

            Assert.True(code == 2, $"{string.Join(' ', args)}: exit {code}: {stdout}{stderr}");
            Assert.DoesNotContain("System.", stdout + stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("CareGateway.", stdout + stderr, StringComparison.Ordinal);
        }
    }
}
