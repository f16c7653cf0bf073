using System.Text.Json;
using CareGateway.Cli;

namespace CareGateway.Tests;

/// <summary>
/// The gateway executable carries only what runs in the home: no MQTT server, no test packages, no response centre and
/// no demo. Read from the restore's own record (obj/project.assets.json), which lists every package and project the
/// executable depends on, directly or through another project - what <c>dotnet list package --include-transitive</c> shows.
/// </summary>
public class GatewayDependencyTests
{
    private static readonly string[] Forbidden =
    [
        "MQTTnet.Server", "Microsoft.Extensions.TimeProvider.Testing", "xunit", "Microsoft.NET.Test.Sdk", "FsCheck", "NJsonSchema",
        "Microsoft.Playwright", "Moq", "CareGateway.ResponseCentre", "CareGateway.Demo", "CareGateway.Tests", "CareGateway.FaultChild",
    ];

    [Fact]
    public void The_gateway_executable_depends_on_no_server_test_package_centre_or_demo()
    {
        var libraries = Libraries();

        Assert.Contains("MQTTnet", libraries); // the assets file is the one of this build, not an empty stand-in
        Assert.Contains("CareGateway.Uplink", libraries);
        var bad = libraries.Where(l => Forbidden.Any(f => l.Equals(f, StringComparison.OrdinalIgnoreCase) || l.StartsWith(f + ".", StringComparison.OrdinalIgnoreCase))).ToList();
        Assert.True(bad.Count == 0, "the gateway executable depends on: " + string.Join(", ", bad));
    }

    [Fact]
    public void The_demo_lives_in_samples_and_the_gateway_has_no_demo_command()
    {
        Assert.True(File.Exists(RepoFiles.PathOf("samples", "CareGateway.Demo", "CareGateway.Demo.csproj")));
        Assert.Contains("samples/CareGateway.Demo", RepoFiles.Read("README.md").Split('\n')[3], StringComparison.Ordinal);
        Assert.DoesNotContain(GatewayCommandLine.Create().Subcommands, c => c.Name == "demo");
    }

    private static List<string> Libraries()
    {
        using var assets = JsonDocument.Parse(RepoFiles.Read("gateway", "CareGateway", "obj", "project.assets.json"));
        return assets.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name.Split('/')[0]).ToList();
    }
}
