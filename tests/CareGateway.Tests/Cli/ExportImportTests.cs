using CareGateway.Cli;

namespace CareGateway.Tests.Cli;

public class ExportImportTests
{
    [Fact]
    public async Task A_replacement_unit_gets_the_old_homes_sensors_and_stored_care_profile_keeps_its_own_credentials_and_the_export_holds_no_secrets()
    {
        // The old unit: password and TLS credentials, a Zigbee broker password, and a profile the centre stored.
        using var old = new TempDir();
        await File.WriteAllTextAsync(old.File("mqtt-password"), "old-unit-Secret-99");
        await File.WriteAllTextAsync(old.File("z2m-password"), "local-Secret-42");
        var (ca, _) = CliTestKit.SelfSigned(old, "centre-ca");
        var (cert, key) = CliTestKit.SelfSigned(old, "gw-old");
        var oldConfig = old.File("gateway.json");
        await File.WriteAllTextAsync(oldConfig, $$"""
            {
              "gatewayId": "gw-old",
              "dataDirectory": "{{old.File("data")}}",
              "broker": { "host": "centre.example", "port": 8883, "username": "gw-old", "passwordFile": "{{old.File("mqtt-password")}}",
                          "tls": { "caFile": "{{ca}}", "certFile": "{{cert}}", "keyFile": "{{key}}" } },
              "board": { "driver": "simulated" },
              "sensors": [
                { "id": "door-front", "kind": "door", "room": "hall", "outerDoor": true, "gpio": { "headerPin": 11, "pull": "up", "wiring": "normally-closed" } },
                { "id": "smoke-kitchen", "kind": "smoke", "room": "kitchen", "zigbee": { "device": "smoke-kitchen" } }
              ],
              "zigbee": { "broker": { "host": "127.0.0.1", "port": 1883, "username": "gw", "passwordFile": "{{old.File("z2m-password")}}" } }
            }
            """);
        Directory.CreateDirectory(old.File("data"));
        await File.WriteAllTextAsync(Path.Combine(old.File("data"), FileCareProfileStore.FileName), """{ "timeZone": "Europe/Oslo", "nightWindow": { "start": "21:15", "end": "06:30" } }""");
        var exportFile = old.File("home.json");

        var (exported, said) = await CliTestKit.RunAsync(oldConfig, (c, p) => ExportImportCommand.ExportAsync(p, exportFile, c));

        Assert.Equal(ExitCodes.Ok, exported);
        Assert.Contains("no secrets", said, StringComparison.Ordinal);
        var export = await File.ReadAllTextAsync(exportFile);
        foreach (var secret in new[] { "Secret", "passwordFile", "caFile", "certFile", "keyFile", "username", old.Path + "/gw-old", ca })
        {
            Assert.DoesNotContain(secret, export, StringComparison.Ordinal);
        }

        Assert.Contains("21:15", export, StringComparison.Ordinal);

        // The new unit: its own identity and credentials from init, then the import.
        using var fresh = new TempDir();
        await File.WriteAllTextAsync(fresh.File("given-password"), "new-unit-password");
        var newConfig = fresh.File("gateway.json");
        var (initialized, _) = await CliTestKit.RunAsync(newConfig, (c, p) => InitCommand.RunAsync(new InitOptions { GatewayId = "gw-new", BrokerHost = "127.0.0.1", Credentials = CredentialMode.Password, Username = "gw-new", PasswordFile = fresh.File("given-password"), DataDirectory = fresh.File("data") }, p, c));
        Assert.Equal(ExitCodes.Ok, initialized);

        var (imported, _) = await CliTestKit.RunAsync(newConfig, (c, p) => ExportImportCommand.ImportAsync(exportFile, p, c));

        Assert.Equal(ExitCodes.Ok, imported);
        var config = ConfigLoader.Load(newConfig);
        Assert.Equal("gw-new", config.GatewayId);
        Assert.Equal("gw-new", config.Broker.Username);
        Assert.Equal("new-unit-password", (await File.ReadAllTextAsync(config.Broker.PasswordFile!)).Trim());
        Assert.Equal(fresh.File("data"), config.DataDirectory);
        Assert.Equal(["door-front", "smoke-kitchen"], config.Sensors.Select(s => s.Id));
        Assert.Equal(Sensors.ContactWiring.NormallyClosed, config.Sensors[0].Gpio!.Wiring);
        Assert.Equal("21:15", config.CareProfile.NightWindow.Start);
    }

    [Fact]
    public async Task A_file_that_is_not_an_export_is_refused_and_the_configuration_kept()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir);
        var before = await File.ReadAllTextAsync(configPath);
        var notExport = dir.File("other.json");
        await File.WriteAllTextAsync(notExport, """{ "gatewayId": "gw-x" }""");

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => ExportImportCommand.ImportAsync(notExport, p, c));

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("not a care-gateway export", output, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(configPath));
    }
}
