using CareGateway.Cli;
using CareGateway.Tests;
using CareGateway.Tests.Cli;

namespace CareGateway.IntegrationTests.Cli;

/// <summary>selftest's broker check over TLS with this gateway's client certificate, against Mosquitto requiring one.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes: Mosquitto runs as its own user and must read the test's certificates
public class SelftestTlsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_broker_check_passes_over_mutual_TLS_and_fails_with_a_certificate_from_another_CA()
    {
        using var dir = new TempDir();
        var certs = await IotHubTestCertificates.CreateAsync(dir.Path, "localhost", "gw-7");
        const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.SetUnixFileMode(dir.Path, Readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        foreach (var file in new[] { certs.CaCert, certs.ServerCert, certs.ServerKey })
        {
            File.SetUnixFileMode(file, Readable);
        }

        await using var broker = await MosquittoBroker.StartAsync($"""
            cafile {certs.CaCert}
            certfile {certs.ServerCert}
            keyfile {certs.ServerKey}
            require_certificate true
            """);
        var configPath = CliTestKit.WriteConfig(dir, brokerPort: broker.Port);
        var text = await File.ReadAllTextAsync(configPath);
        await File.WriteAllTextAsync(configPath, text.Replace(
            "\"host\": \"127.0.0.1\", \"port\": " + broker.Port + ",",
            $"\"host\": \"localhost\", \"port\": {broker.Port}, \"tls\": {{ \"caFile\": \"{certs.CaCert}\", \"certFile\": \"{certs.DeviceCert}\", \"keyFile\": \"{certs.DeviceKey}\" }},",
            StringComparison.Ordinal));

        var (_, output) = await CliTestKit.RunAsync(configPath, (c, p) => SelftestCommand.RunAsync(new SelftestOptions { TimeSync = () => "yes", StatusTimeout = TimeSpan.FromSeconds(1) }, p, c, CancellationToken.None).WaitAsync(Bound), json: true);
        var checks = CliTestKit.ParseJson(output).GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c);

        Assert.True(checks["broker reachable"].GetProperty("result").GetString() == "ok", output);
        Assert.Contains("with TLS and this gateway's certificate", checks["broker reachable"].GetProperty("detail").GetString(), StringComparison.Ordinal);

        // A client certificate the broker's CA did not sign is refused.
        var (otherCert, otherKey) = CliTestKit.SelfSigned(dir, "gw-7-other");
        await File.WriteAllTextAsync(configPath, (await File.ReadAllTextAsync(configPath)).Replace(certs.DeviceCert, otherCert, StringComparison.Ordinal).Replace(certs.DeviceKey, otherKey, StringComparison.Ordinal));

        var (code, refused) = await CliTestKit.RunAsync(configPath, (c, p) => SelftestCommand.RunAsync(new SelftestOptions { TimeSync = () => "yes", StatusTimeout = TimeSpan.FromSeconds(1) }, p, c, CancellationToken.None).WaitAsync(Bound), json: true);

        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.Equal("failed", CliTestKit.ParseJson(refused).GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "broker reachable").GetProperty("result").GetString());
    }
}
